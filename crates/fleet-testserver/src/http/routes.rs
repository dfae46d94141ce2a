//! The resources: discovery, machines, state and units, each as fleet's handler answers.

use fleet::v1::unit_file::go_quote;
use std::ops::Bound::{Excluded, Unbounded};
use std::sync::Arc;

use fleet::v1::UnitOption;

use super::decode;
use super::{empty, empty_json_204, error, json_response, query_values, Abort, Reply, Shared};
use crate::cluster::registry::{Registry, UnitRecord};
use crate::json;
use crate::paging::{self, Bounds, PageToken};

/// fleet's discovery document, served byte for byte.
pub(crate) const DISCOVERY: &[u8] = include_bytes!("../discovery.json");

/// The message etcd's client gives when the cluster cannot be reached (fleet passes it on for
/// PATCH failures).
const ETCD_UNAVAILABLE: &str = "client: etcd cluster is unavailable or misconfigured";

pub(crate) struct Ctx<'a> {
    pub(crate) shared: &'a Arc<Shared>,
    pub(crate) method: &'a str,
    pub(crate) query: &'a str,
    pub(crate) content_types: &'a [String],
}

impl Ctx<'_> {
    fn page_token(&self) -> Result<PageToken, String> {
        let values = query_values(self.query, "nextPageToken");
        let limit = self.shared.page_size;
        Ok(paging::find_next_page_token(&values, limit)?.unwrap_or(PageToken::first(limit)))
    }

    /// The page's bounds: fleet's `uint16` arithmetic, or the wide one when configured.
    fn bounds(&self, total: usize, tok: PageToken) -> Bounds {
        if self.shared.wide_paging {
            paging::wide_bounds(total, tok)
        } else {
            paging::bounds(total, tok)
        }
    }
}

pub(crate) fn discovery(ctx: &Ctx<'_>) -> http::Response<super::RespBody> {
    if ctx.method != "GET" {
        return error(400, "only HTTP GET supported against this resource");
    }
    json_response(200, DISCOVERY.to_vec())
}

/// `{"<key>":[...],"nextPageToken":...}` with fleet's field order: `machines` before
/// `nextPageToken`, `nextPageToken` before `states`/`units`.
fn page_body(
    key: &str,
    token_first: bool,
    next: Option<PageToken>,
    write_items: impl FnOnce(&mut Vec<u8>),
    capacity: usize,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity + 64);
    let token = next.map(PageToken::encode).unwrap_or_default();
    let mut obj = json::Obj::new(&mut out);
    if token_first {
        obj.str("nextPageToken", &token);
        obj.raw(key, write_items);
    } else {
        obj.raw(key, write_items);
        obj.str("nextPageToken", &token);
    }
    obj.end();
    out
}

pub(crate) fn machines(ctx: &Ctx<'_>, body: &[u8]) -> Reply {
    Ok(match ctx.method {
        "GET" => {
            let tok = match ctx.page_token() {
                Ok(t) => t,
                Err(e) => return Ok(error(400, &e)),
            };
            if ctx.shared.etcd_down() {
                return Ok(error(500, ""));
            }
            let all = ctx.shared.cluster.machines();
            match ctx.bounds(all.len(), tok) {
                Bounds::Empty => json_response(200, b"{}".to_vec()),
                // fleet slices with start > stop and panics: no response.
                Bounds::Panic => return Err(Abort),
                Bounds::Items { start, stop, next } => {
                    let items = all.get(start..stop).unwrap_or_default();
                    let body = page_body(
                        "machines",
                        false,
                        next,
                        |o| {
                            json::write_array(o, items, |o, m| {
                                json::write_machine(o, &m.id, &m.metadata, &m.primary_ip)
                            })
                        },
                        items.len() * 128,
                    );
                    json_response(200, body)
                }
            }
        }
        "PATCH" => patch_machines(ctx, body),
        _ => error(405, "only GET and PATCH supported against this resource"),
    })
}

fn patch_machines(ctx: &Ctx<'_>, body: &[u8]) -> http::Response<super::RespBody> {
    let ops = match decode::metadata_ops(body) {
        Ok(ops) => ops,
        Err(e) => return error(400, &e),
    };
    let mut parsed = Vec::with_capacity(ops.len());
    for op in &ops {
        if !matches!(op.op.as_str(), "add" | "remove" | "replace") {
            return error(400, "invalid op: expect add, remove, or replace");
        }
        let Some((machine, key)) = metadata_path(&op.path) else {
            return error(400, "machine metadata path invalid");
        };
        if op.op != "remove" && op.value.is_empty() {
            return error(400, "invalid value: add and replace require a value");
        }
        let value = if op.op == "remove" { "" } else { &op.value };
        parsed.push((machine, key, value));
    }
    for (machine, key, value) in parsed {
        if ctx.shared.etcd_down() {
            return error(500, ETCD_UNAVAILABLE);
        }
        ctx.shared.cluster.set_machine_metadata(machine, key, value);
    }
    empty_json_204()
}

/// fleet's `^/([^/]+)/metadata/([A-Za-z0-9_.-]+$)`.
fn metadata_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix('/')?;
    let (machine, rest) = rest.split_once('/')?;
    let key = rest.strip_prefix("metadata/")?;
    let key_ok = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    (!machine.is_empty() && key_ok).then_some((machine, key))
}

/// The item of a resource path: `/name` with no further slash.
fn item(sub: &str) -> Option<&str> {
    let name = sub.strip_prefix('/')?;
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

pub(crate) fn state(ctx: &Ctx<'_>, sub: &str) -> Reply {
    if sub.is_empty() {
        if ctx.method != "GET" {
            return Ok(error(405, "only GET supported against this resource"));
        }
        return list_states(ctx);
    }
    let Some(name) = item(sub) else {
        return Ok(error(404, ""));
    };
    if ctx.method != "GET" {
        return Ok(error(405, "only GET supported against this resource"));
    }
    if ctx.shared.etcd_down() {
        return Ok(error(500, ""));
    }
    let reg = ctx.shared.cluster.read();
    // fleet returns the first state it finds under the unit's key; for a unit on one machine
    // that is its state, for a global unit the one of the lowest machine id here.
    let found = reg
        .states
        .range((name.to_string(), String::new())..)
        .next()
        .filter(|((n, _), _)| n == name);
    match found {
        Some(((n, m), s)) => {
            let mut out = Vec::with_capacity(256);
            json::write_state(&mut out, &s.hash, m, n, s.active, s.load, s.sub);
            Ok(json_response(200, out))
        }
        // fleet dereferences the nil state before its 404 check; net/http recovers the panic
        // and closes the connection without a response.
        None => Err(Abort),
    }
}

fn list_states(ctx: &Ctx<'_>) -> Reply {
    let tok = match ctx.page_token() {
        Ok(t) => t,
        Err(e) => return Ok(error(400, &e)),
    };
    let machine = query_values(ctx.query, "machineID").into_iter().next();
    let unit = query_values(ctx.query, "unitName").into_iter().next();
    let machine = machine.filter(|m| !m.is_empty());
    let unit = unit.filter(|u| !u.is_empty());
    if ctx.shared.etcd_down() {
        return Ok(error(500, ""));
    }
    let reg = ctx.shared.cluster.read();
    let filtered: Vec<_> = reg
        .states
        .iter()
        .filter(|((n, m), _)| {
            machine.as_deref().is_none_or(|x| x == m) && unit.as_deref().is_none_or(|x| x == n)
        })
        .collect();
    match ctx.bounds(filtered.len(), tok) {
        Bounds::Empty => Ok(json_response(200, b"{}".to_vec())),
        Bounds::Panic => Err(Abort),
        Bounds::Items { start, stop, next } => {
            let items = filtered.get(start..stop).unwrap_or_default();
            let body = page_body(
                "states",
                true,
                next,
                |o| {
                    json::write_array(o, items, |o, ((n, m), s)| {
                        json::write_state(o, &s.hash, m, n, s.active, s.load, s.sub)
                    })
                },
                items.len() * 220,
            );
            Ok(json_response(200, body))
        }
    }
}

pub(crate) fn units(ctx: &Ctx<'_>, sub: &str, body: &[u8]) -> Reply {
    if sub.is_empty() {
        if ctx.method != "GET" {
            return Ok(error(405, "only GET supported against this resource"));
        }
        return list_units(ctx);
    }
    let Some(name) = item(sub) else {
        return Ok(error(404, ""));
    };
    match ctx.method {
        "GET" => Ok(get_unit(ctx, name)),
        "DELETE" => Ok(delete_unit(ctx, name)),
        "PUT" => put_unit(ctx, name, body),
        _ => Ok(error(
            405,
            "only GET, PUT and DELETE supported against this resource",
        )),
    }
}

/// One unit's JSON as fleet's `GET /units/<name>` (`list` = false) or a units list writes it.
fn write_unit(
    out: &mut Vec<u8>,
    reg: &Registry,
    u: &crate::cluster::registry::UnitRecord,
    list: bool,
) {
    // GET of a global unit reads no schedule: no currentState, no machineID. The list reads the
    // whole schedule, where a global unit is never scheduled: currentState "inactive".
    let (current, machine) = if u.req.global && !list {
        ("", "")
    } else {
        (
            reg.current_state(u),
            u.target_machine.as_deref().unwrap_or(""),
        )
    };
    json::write_unit(
        out,
        current,
        &u.target_state,
        machine,
        &u.name,
        &u.options_json,
    );
}

fn list_units(ctx: &Ctx<'_>) -> Reply {
    let tok = match ctx.page_token() {
        Ok(t) => t,
        Err(e) => return Ok(error(400, &e)),
    };
    if ctx.shared.etcd_down() {
        return Ok(error(500, ""));
    }
    let reg = ctx.shared.cluster.read();
    let cache = &ctx.shared.units_page_cache;
    if let Ok(guard) = cache.lock() {
        if let Some((version, token, bytes)) = guard.as_ref() {
            if *version == reg.version && *token == tok {
                return Ok(json_response(200, bytes.clone()));
            }
        }
    }
    // Units with an invalid desired state fail to parse in fleet's registry and are skipped.
    // Where the previous page ended (same registry version): the usual next request then costs
    // one page, not a walk over every unit before it.
    let cursor = ctx
        .shared
        .units_cursor
        .lock()
        .ok()
        .and_then(|c| c.clone())
        .filter(|c| c.version == reg.version);
    let total = match &cursor {
        Some(c) => c.total,
        None => reg.units.values().filter(|u| u.valid()).count(),
    };
    let mut after = None;
    let body = match ctx.bounds(total, tok) {
        Bounds::Empty => b"{}".to_vec(),
        Bounds::Panic => return Err(Abort),
        Bounds::Items { start, stop, next } => page_body(
            "units",
            true,
            next,
            |o| {
                o.push(b'[');
                let items: Box<dyn Iterator<Item = &UnitRecord>> = match cursor {
                    Some(UnitsCursor {
                        at: Some((index, last)),
                        ..
                    }) if index == start => Box::new(
                        reg.units
                            .range::<str, _>((Excluded(last.as_str()), Unbounded))
                            .map(|(_, u)| u)
                            .filter(|u| u.valid()),
                    ),
                    _ => Box::new(reg.units.values().filter(|u| u.valid()).skip(start)),
                };
                let mut last = None;
                for (i, u) in items.take(stop - start).enumerate() {
                    if i > 0 {
                        o.push(b',');
                    }
                    write_unit(o, &reg, u, true);
                    last = Some(u);
                }
                o.push(b']');
                after = last.map(|u| (stop, u.name.clone()));
            },
            (stop - start) * 200,
        ),
    };
    if let Ok(mut guard) = ctx.shared.units_cursor.lock() {
        *guard = Some(UnitsCursor {
            version: reg.version,
            total,
            at: after,
        });
    }
    let body = bytes::Bytes::from(body);
    if let Ok(mut guard) = cache.lock() {
        *guard = Some((reg.version, tok, body.clone()));
    }
    drop(reg);
    Ok(json_response(200, body))
}

/// Where the last units page ended, for the registry version it was read from.
#[derive(Clone, Debug)]
pub(crate) struct UnitsCursor {
    version: u64,
    /// How many valid units the registry holds.
    total: usize,
    /// The index the next page starts at, and the name of the unit before it.
    at: Option<(usize, String)>,
}

fn get_unit(ctx: &Ctx<'_>, name: &str) -> http::Response<super::RespBody> {
    if ctx.shared.etcd_down() {
        return error(500, "");
    }
    let reg = ctx.shared.cluster.read();
    match reg.units.get(name) {
        None => error(404, "unit does not exist"),
        Some(u) if !u.valid() => error(500, ""),
        Some(u) => {
            let mut out = Vec::with_capacity(512);
            write_unit(&mut out, &reg, u, false);
            drop(reg);
            json_response(200, out)
        }
    }
}

fn delete_unit(ctx: &Ctx<'_>, name: &str) -> http::Response<super::RespBody> {
    if ctx.shared.etcd_down() {
        return error(500, "");
    }
    match ctx.shared.cluster.read().units.get(name) {
        None => return error(404, "unit does not exist"),
        Some(u) if !u.valid() => return error(500, ""),
        Some(_) => {}
    }
    ctx.shared.cluster.destroy_unit(name);
    empty(204)
}

/// fleet's `validateContentType`.
fn check_content_type(types: &[String]) -> Result<(), String> {
    match types {
        [one] => {
            let base = one.split(';').next().unwrap_or("").trim();
            if base == "application/json" {
                Ok(())
            } else {
                Err("only acceptable Content-Type is application/json".into())
            }
        }
        other => Err(format!("expected 1 Content-Type, got {}", other.len())),
    }
}

fn put_unit(ctx: &Ctx<'_>, item: &str, body: &[u8]) -> Reply {
    if let Err(e) = check_content_type(ctx.content_types) {
        return Ok(error(415, &e));
    }
    let su = match decode::unit(body) {
        Ok(su) => su,
        Err(e) => return Ok(error(400, &format!("unable to decode body: {e}"))),
    };
    let name = if su.name.is_empty() {
        item.to_string()
    } else {
        su.name.clone()
    };
    if name != item {
        return Ok(error(
            400,
            &format!(
                "name in URL {} differs from unit name in request body {}",
                go_quote(item),
                go_quote(&name)
            ),
        ));
    }
    if let Err(e) = crate::cluster::unit_info::validate_name(&name) {
        return Ok(error(400, &e));
    }
    if ctx.shared.etcd_down() {
        return Ok(error(500, ""));
    }
    // A null element in "options" is a nil pointer that fleet dereferences: no response.
    let options: Vec<UnitOption> = match su.options.into_iter().collect::<Option<Vec<_>>>() {
        Some(o) => o,
        None => return Err(Abort),
    };
    let existing = {
        let reg = ctx.shared.cluster.read();
        match reg.units.get(&name) {
            None => None,
            Some(u) if !u.valid() => return Ok(error(500, "")),
            Some(u) => Some(u.hash.clone()),
        }
    };
    let new_unit = match &existing {
        None => {
            if options.is_empty() {
                return Ok(error(409, "unit does not exist and options field empty"));
            }
            if let Err(e) = crate::cluster::unit_info::validate_options(&options) {
                return Ok(error(400, &e));
            }
            true
        }
        Some(hash) => !options.is_empty() && *hash != crate::cluster::unit_info::hash(&options),
    };
    if new_unit {
        let target = if su.desired_state.is_empty() {
            "inactive"
        } else {
            su.desired_state.as_str()
        };
        if !matches!(target, "inactive" | "loaded" | "launched") {
            // fleet's registry client refuses it before anything is stored.
            return Ok(error(500, ""));
        }
        ctx.shared.cluster.create_unit(&name, options, target);
        return Ok(empty(201));
    }
    if su.desired_state.is_empty() {
        return Ok(error(
            409,
            "must provide DesiredState to update existing unit",
        ));
    }
    if crate::cluster::unit_info::is_template(&name) && su.desired_state != "inactive" {
        return Ok(error(
            400,
            &format!("cannot activate template {}", go_quote(&name)),
        ));
    }
    ctx.shared
        .cluster
        .set_target_state(&name, &su.desired_state);
    Ok(empty(204))
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use crate::paging::PageToken;
    use crate::TestServer;

    /// The unit names of a units page (raw HTTP, one connection per request).
    fn page(server: &TestServer, page: u16) -> Vec<String> {
        let token = PageToken { limit: 2, page }.encode();
        let mut conn = std::net::TcpStream::connect(server.tcp_addr().unwrap()).unwrap();
        write!(
            conn,
            "GET /fleet/v1/units?nextPageToken={token} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        let body = answer.split("\r\n\r\n").nth(1).unwrap();
        let page: serde_json::Value = serde_json::from_str(body).unwrap();
        page["units"]
            .as_array()
            .map(|units| {
                units
                    .iter()
                    .map(|u| u["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn pages_in_any_order_and_after_changes() {
        let server = TestServer::builder()
            .unix(false)
            .page_size(2)
            .start()
            .unwrap();
        let opts = || {
            vec![fleet::v1::UnitOption::new(
                "Service",
                "ExecStart",
                "/bin/true",
            )]
        };
        for i in 0..7 {
            server.put_unit_raw(&format!("u{i}.service"), opts(), "inactive");
        }
        // An invalid unit drops out of lists, and out of the count.
        server.set_desired_state_raw("u2.service", "bogus");
        let names =
            |v: &[usize]| -> Vec<String> { v.iter().map(|i| format!("u{i}.service")).collect() };
        // In order (each page continues where the previous ended), out of order, repeated.
        assert_eq!(page(&server, 1), names(&[0, 1]));
        assert_eq!(page(&server, 2), names(&[3, 4]));
        assert_eq!(page(&server, 3), names(&[5, 6]));
        assert_eq!(page(&server, 2), names(&[3, 4]));
        assert_eq!(page(&server, 4), names(&[]));
        assert_eq!(page(&server, 1), names(&[0, 1]));
        // A change between pages: the next page is read from the registry as it now is.
        assert!(server.remove_unit_raw("u0.service"));
        assert_eq!(page(&server, 2), names(&[4, 5]));
        server.set_desired_state_raw("u2.service", "inactive");
        assert_eq!(page(&server, 3), names(&[5, 6]));
        assert_eq!(page(&server, 1), names(&[1, 2]));
        // u10 sorts between u1 and u2, as in fleet's registry.
        server.put_unit_raw("u10.service", opts(), "inactive");
        assert_eq!(page(&server, 2), names(&[2, 3]));
        assert_eq!(page(&server, 3), names(&[4, 5]));
        assert_eq!(page(&server, 1), names(&[1, 10]));
    }
}
