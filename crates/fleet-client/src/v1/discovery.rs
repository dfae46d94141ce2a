//! fleet's discovery document (`GET /fleet/v1/discovery`) and the method table read from it.
//!
//! fleet describes its API in Google's API discovery format. The client reads, for each call it
//! makes, the HTTP method and the path template from the document — `rootUrl` (whose
//! `$ENDPOINT` placeholder stands for the endpoint) + `servicePath` + the method's `path` — so a
//! server that mounts the API elsewhere is followed rather than guessed.
//!
//! One exception: fleet v1.0.0's document does not describe `PATCH /fleet/v1/machines`
//! (machine metadata edits), although the server serves it. When the document has no
//! `Machines.Patch` method, the client sends `PATCH` to the path of `Machines.List`.
//!
//! ```
//! use fleet::v1::discovery::{ApiMethod, Discovery};
//!
//! let doc = br#"{"id":"fleet:v1","rootUrl":"$ENDPOINT/","servicePath":"fleet/v1/","resources":{
//!   "Units":{"methods":{
//!     "List":{"httpMethod":"GET","path":"units"},
//!     "Get":{"httpMethod":"GET","path":"units/{unitName}"},
//!     "Set":{"httpMethod":"PUT","path":"units/{unitName}"},
//!     "Delete":{"httpMethod":"DELETE","path":"units/{unitName}"}}},
//!   "UnitState":{"methods":{
//!     "List":{"httpMethod":"GET","path":"state"},
//!     "Get":{"httpMethod":"GET","path":"state/{unitName}"}}},
//!   "Machines":{"methods":{"List":{"httpMethod":"GET","path":"machines"}}}}}"#;
//! let discovery = Discovery::from_slice(doc).unwrap();
//! let get = discovery.method(ApiMethod::UnitsGet);
//! assert_eq!(get.http_method(), &http::Method::GET);
//! assert_eq!(get.path_template(), "/fleet/v1/units/{unitName}");
//! assert!(!discovery.method(ApiMethod::MachinesPatch).is_described());
//! ```

use std::collections::HashMap;

use http::Method;
use serde::Deserialize;

/// The calls the client makes, each one method of the discovery document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiMethod {
    /// `Units.List`: a page of units.
    UnitsList,
    /// `Units.Get`: one unit.
    UnitsGet,
    /// `Units.Set`: create a unit or change its desired state.
    UnitsSet,
    /// `Units.Delete`: destroy a unit.
    UnitsDelete,
    /// `UnitState.List`: a page of unit states.
    UnitStateList,
    /// `UnitState.Get`: the state of one unit.
    UnitStateGet,
    /// `Machines.List`: a page of machines.
    MachinesList,
    /// `Machines.Patch`: edit machine metadata (not in fleet's document; see the module docs).
    MachinesPatch,
}

impl ApiMethod {
    /// Every method, in a fixed order.
    pub const ALL: [ApiMethod; 8] = [
        ApiMethod::UnitsList,
        ApiMethod::UnitsGet,
        ApiMethod::UnitsSet,
        ApiMethod::UnitsDelete,
        ApiMethod::UnitStateList,
        ApiMethod::UnitStateGet,
        ApiMethod::MachinesList,
        ApiMethod::MachinesPatch,
    ];

    /// The resource and method names in the discovery document (`("Units", "Get")`).
    pub fn document_name(self) -> (&'static str, &'static str) {
        match self {
            ApiMethod::UnitsList => ("Units", "List"),
            ApiMethod::UnitsGet => ("Units", "Get"),
            ApiMethod::UnitsSet => ("Units", "Set"),
            ApiMethod::UnitsDelete => ("Units", "Delete"),
            ApiMethod::UnitStateList => ("UnitState", "List"),
            ApiMethod::UnitStateGet => ("UnitState", "Get"),
            ApiMethod::MachinesList => ("Machines", "List"),
            ApiMethod::MachinesPatch => ("Machines", "Patch"),
        }
    }

    /// The path parameter the method needs, if any (`unitName`).
    fn path_param(self) -> Option<&'static str> {
        match self {
            ApiMethod::UnitsGet
            | ApiMethod::UnitsSet
            | ApiMethod::UnitsDelete
            | ApiMethod::UnitStateGet => Some("unitName"),
            _ => None,
        }
    }
}

/// How to make one call: its HTTP method and its absolute path template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodSpec {
    http_method: Method,
    path_template: String,
    described: bool,
}

impl MethodSpec {
    /// The HTTP method (`GET`, `PUT`, …).
    pub fn http_method(&self) -> &Method {
        &self.http_method
    }

    /// The absolute path, with `{param}` placeholders (`/fleet/v1/units/{unitName}`).
    pub fn path_template(&self) -> &str {
        &self.path_template
    }

    /// Whether the discovery document described this method (false only for a
    /// `Machines.Patch` derived from `Machines.List`).
    pub fn is_described(&self) -> bool {
        self.described
    }
}

/// The method table of a fleet v1 API, read from its discovery document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovery {
    methods: Vec<(ApiMethod, MethodSpec)>,
}

#[derive(Deserialize)]
struct Doc<'a> {
    #[serde(borrow, default)]
    id: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default, rename = "rootUrl")]
    root_url: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default, rename = "servicePath")]
    service_path: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    resources: HashMap<String, Resource<'a>>,
}

#[derive(Deserialize)]
struct Resource<'a> {
    #[serde(borrow, default)]
    methods: HashMap<String, DocMethod<'a>>,
}

#[derive(Deserialize)]
struct DocMethod<'a> {
    #[serde(borrow, rename = "httpMethod")]
    http_method: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    path: std::borrow::Cow<'a, str>,
}

impl Discovery {
    /// Read a discovery document. The error is a message saying what is missing or wrong;
    /// [`crate::v1::Client::new`] reports it as [`crate::v1::Error::Discovery`].
    pub fn from_slice(doc: &[u8]) -> Result<Discovery, String> {
        if doc.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(format!(
                "the discovery document is not valid JSON of the expected shape: it does not start \
                 with '{{' (starts {:?})",
                crate::v1::page::excerpt(doc.get(..40).unwrap_or(doc))
            ));
        }
        let doc: Doc<'_> = serde_json::from_slice(doc).map_err(|e| {
            format!("the discovery document is not valid JSON of the expected shape: {e}")
        })?;
        match doc.id.as_deref() {
            Some("fleet:v1") => {}
            Some(other) => {
                return Err(format!(
                    "the discovery document describes API {other:?}, not fleet v1 (\"fleet:v1\")"
                ))
            }
            None => {
                return Err("the discovery document has no \"id\"; expected \"fleet:v1\"".into())
            }
        }
        let root = doc
            .root_url
            .as_deref()
            .ok_or("the discovery document has no \"rootUrl\"")?;
        let root_path = root_path(root)?;
        let service_path = doc.service_path.as_deref().unwrap_or("");
        let base = join(&root_path, service_path);

        let find = |m: ApiMethod| -> Result<Option<MethodSpec>, String> {
            let (res, name) = m.document_name();
            let Some(method) = doc.resources.get(res).and_then(|r| r.methods.get(name)) else {
                return Ok(None);
            };
            let http_method = Method::from_bytes(method.http_method.as_bytes()).map_err(|_| {
                format!(
                    "{res}.{name} has an invalid httpMethod {:?}",
                    method.http_method
                )
            })?;
            let path_template = join(&base, &method.path);
            if let Some(param) = m.path_param() {
                if !path_template.contains(&format!("{{{param}}}")) {
                    return Err(format!(
                        "{res}.{name} path {:?} has no {{{param}}} parameter",
                        method.path
                    ));
                }
            }
            if path_template.contains(['?', '#']) || !path_template.starts_with('/') {
                return Err(format!(
                    "{res}.{name} has an unusable path {path_template:?}"
                ));
            }
            // Every request path is this template with a percent-encoded name put in: refuse a
            // template that could never make a valid URI here, not on every later call.
            let sample = match m.path_param() {
                Some(param) => path_template.replace(&format!("{{{param}}}"), "x.service"),
                None => path_template.clone(),
            };
            if let Err(e) = sample.parse::<http::uri::PathAndQuery>() {
                return Err(format!(
                    "{res}.{name} has an unusable path {path_template:?}: {e}"
                ));
            }
            Ok(Some(MethodSpec {
                http_method,
                path_template,
                described: true,
            }))
        };

        let mut specs = Vec::with_capacity(ApiMethod::ALL.len());
        for m in ApiMethod::ALL {
            let spec = match (find(m)?, m) {
                (Some(spec), _) => spec,
                (None, ApiMethod::MachinesPatch) => {
                    let list = specs
                        .iter()
                        .find_map(|(k, s): &(ApiMethod, MethodSpec)| {
                            (*k == ApiMethod::MachinesList).then(|| s.path_template.clone())
                        })
                        .ok_or("the discovery document has no Machines.List method")?;
                    MethodSpec {
                        http_method: Method::PATCH,
                        path_template: list,
                        described: false,
                    }
                }
                (None, m) => {
                    let (res, name) = m.document_name();
                    return Err(format!(
                        "the discovery document has no {res}.{name} method; is this fleet's v1 API?"
                    ));
                }
            };
            specs.push((m, spec));
        }
        Ok(Discovery { methods: specs })
    }

    /// The spec of one call.
    pub fn method(&self, method: ApiMethod) -> &MethodSpec {
        // `from_slice` fills in every method of `ApiMethod::ALL`, in that order.
        match self.methods.iter().find(|(m, _)| *m == method) {
            Some((_, spec)) => spec,
            None => &UNREACHABLE_SPEC,
        }
    }
}

static UNREACHABLE_SPEC: MethodSpec = MethodSpec {
    http_method: Method::GET,
    path_template: String::new(),
    described: false,
};

/// The path part of `rootUrl`: `$ENDPOINT/` → `/`; an absolute URL → its path.
fn root_path(root: &str) -> Result<String, String> {
    if let Some(rest) = root.strip_prefix("$ENDPOINT") {
        return Ok(if rest.starts_with('/') {
            rest.to_string()
        } else {
            format!("/{rest}")
        });
    }
    if let Some((_, after_scheme)) = root.split_once("://") {
        return Ok(match after_scheme.find('/') {
            Some(i) => after_scheme.get(i..).unwrap_or("/").to_string(),
            None => "/".to_string(),
        });
    }
    Err(format!(
        "the discovery document's rootUrl {root:?} neither starts with $ENDPOINT nor is a URL"
    ))
}

fn join(base: &str, rel: &str) -> String {
    match (base.ends_with('/'), rel.starts_with('/')) {
        (true, true) => format!("{base}{}", rel.get(1..).unwrap_or_default()),
        (false, false) if !rel.is_empty() => format!("{base}/{rel}"),
        _ => format!("{base}{rel}"),
    }
}
