//! Submitting units as `submit`, `load` and `start` do (fleetctl's `lazyCreateUnits` and the
//! helpers around it), and the other shared steps of the unit commands.
//!
//! For each argument, in order: a unit of that name already in fleet is kept (with a warning when
//! the local file differs, compared by fleet's unit hash; `--replace` replaces it when its state
//! allows); otherwise the unit file is read from the path given, or, for an instance
//! (`web@1.service`) with no file, built from its template, taken from fleet or from a
//! `web@.service` file next to the argument. New units are created inactive, and fleetctl waits
//! for each to report `inactive`.

use std::path::Path;

use fleet::v1 as fleet;

use crate::api::Api;
use crate::names::{self, NameInfo};
use crate::output::{self, table};
use crate::wait::{self, WaitOptions};

/// Which command is submitting: it decides which states `--replace` may replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// `submit`
    Submit,
    /// `load`
    Load,
    /// `start`
    Start,
}

impl Context {
    fn may_replace(self, state: fleet::DesiredState) -> bool {
        use fleet::DesiredState::*;
        match self {
            Context::Submit => state == Inactive,
            Context::Load => matches!(state, Inactive | Loaded),
            Context::Start => true,
        }
    }
}

fn read_unit_file(path: &str) -> Result<fleet::Unit, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("open {path}: {}", io_msg(&e)))?;
    fleet::Unit::from_string(&text).map_err(|e| e.to_string())
}

/// Go's wording of common I/O errors.
fn io_msg(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

fn exists(path: &str) -> bool {
    // fleetctl checks `!os.IsNotExist(err)`: anything but "not found" counts as present.
    match std::fs::metadata(path) {
        Ok(_) => true,
        Err(e) => e.kind() != std::io::ErrorKind::NotFound,
    }
}

/// fleetctl's `matchLocalFileAndUnit`: whether the file at `file` hashes like `unit`.
fn matches_local_file(file: &str, unit: &fleet::Unit) -> Result<bool, String> {
    std::fs::metadata(file).map_err(|e| format!("stat {file}: {}", io_msg(&e)))?;
    let local = read_unit_file(file)?;
    Ok(local.hash() == unit.hash())
}

/// fleetctl's `isLocalUnitDifferent`: compares the unit in fleet with the local file (or, for an
/// instance with no file, with the local template file), warning when they differ and
/// `--replace` was not given.
fn is_local_unit_different(
    file: &str,
    unit: &fleet::Unit,
    unit_name: &str,
    replace: bool,
) -> Result<bool, String> {
    if let Ok(same) = matches_local_file(file, unit) {
        if !same && !replace {
            output::stderr(&format!(
                "WARNING: Unit {unit_name} in registry differs from local unit file {file}. \
                 Add --replace to override."
            ));
        }
        return Ok(!same);
    }
    let base = names::path_base(file);
    let Some(info) = NameInfo::new(base) else {
        return Err(format!(
            "error extracting information from unit name {file}"
        ));
    };
    if !info.is_instance() {
        return Err(format!(
            "error Unit {file} does not seem to be a template unit"
        ));
    }
    let template_file = names::sibling(file, &info.template);
    let same = matches_local_file(&template_file, unit)?;
    if !same && !replace {
        output::stderr(&format!(
            "WARNING: Unit {unit_name} in registry differs from local template unit file {file}. \
             Add --replace to override."
        ));
    }
    Ok(!same)
}

/// fleetctl's `checkUnitCreation`: `Ok(true)` when the unit must be created.
async fn check_unit_creation(
    api: &Api,
    arg: &str,
    replace: bool,
    ctx: Context,
) -> Result<bool, String> {
    let name = names::unit_name_mangle(arg);
    let existing = api.unit(&name).await.map_err(|e| {
        format!(
            "error retrieving Unit({name}) from Registry: {}",
            output::go_err(&e)
        )
    })?;
    let Some(unit) = existing else {
        if replace {
            tracing::debug!("Unit({name}) was not found in Registry");
        }
        return Ok(true);
    };
    let different = is_local_unit_different(arg, &unit, &name, replace);
    if replace {
        let different = different?;
        if different {
            if ctx.may_replace(unit.desired_state()) {
                return Ok(true);
            }
            output::stderr(&format!(
                "Warning: can not replace Unit({name}) in state '{}', use the appropriate command",
                unit.desired_state()
            ));
        } else {
            output::stdout(&format!(
                "Found same Unit({name}) in Registry, nothing to do"
            ));
        }
    } else if matches!(different, Ok(false)) {
        tracing::debug!("Found same Unit({name}) in Registry, no need to recreate it");
    }
    Ok(false)
}

/// fleetctl's `getUnitFile`: the unit file for `file` (a path or a unit name).
async fn get_unit_file(api: &Api, file: &str, replace: bool) -> Result<fleet::Unit, String> {
    let name = names::unit_name_mangle(file);
    tracing::debug!("Looking for Unit({name}) or its corresponding template");
    if exists(file) {
        return read_unit_file(file)
            .map_err(|e| format!("failed getting Unit({file}) from file: {e}"));
    }
    let Some(info) = NameInfo::new(&name) else {
        return Err(format!(
            "error extracting information from unit name {name}"
        ));
    };
    if !info.is_instance() {
        return Err(format!(
            "unable to find Unit({name}) in Registry or on filesystem"
        ));
    }
    get_unit_file_from_template(api, &info, file, replace)
        .await
        .map_err(|e| format!("failed getting Unit({file}) from template: {e}"))
}

/// fleetctl's `getUnitFileFromTemplate`: the template's file, from fleet or from disk.
async fn get_unit_file_from_template(
    api: &Api,
    info: &NameInfo,
    file: &str,
    replace: bool,
) -> Result<fleet::Unit, String> {
    let template = api.unit(&info.template).await.map_err(|e| {
        format!(
            "error retrieving template Unit({}) from Registry: {}",
            info.template,
            output::go_err(&e)
        )
    })?;
    if let Some(template) = template {
        // Warnings only, as in fleetctl.
        let _ = is_local_unit_different(file, &template, &info.template, replace);
        tracing::debug!("Template Unit({}) found in registry", info.template);
        return Ok(fleet::Unit::from_options(template.options().to_vec()));
    }
    let path = names::sibling(file, &info.template);
    if !Path::new(&path).exists() {
        return Err(format!(
            "unable to find template Unit({}) in Registry or on filesystem",
            info.template
        ));
    }
    read_unit_file(&path).map_err(|e| {
        format!(
            "unable to load template Unit({}) from file: {e}",
            info.template
        )
    })
}

/// fleetctl's `createUnit`.
async fn create_unit(api: &Api, name: &str, unit: &fleet::Unit) -> Result<(), String> {
    if let Err(e) = fleet::unit_file::validate_unit_name(name) {
        return Err(match e {
            fleet::Error::InvalidUnitName { message, .. } => message,
            other => other.to_string(),
        });
    }
    if let Err(e) = fleet::unit_file::validate_options(unit.options()) {
        return Err(match e {
            fleet::Error::InvalidUnit { message, .. } => message,
            other => other.to_string(),
        });
    }
    // fleetctl only warns about requirements fleet does not know (`ValidateRequirements`).
    for o in unit.options() {
        if o.section == fleet::unit_file::XFLEET_SECTION
            && !fleet::unit_file::KNOWN_REQUIREMENTS.contains(&o.name.as_str())
        {
            output::stderr(&format!(
                "WARNING: Unit {name}: unrecognized requirement in [X-Fleet] section: {}",
                table::go_quote(&o.name)
            ));
            break;
        }
    }
    api.create_unit(name, unit)
        .await
        .map_err(|e| format!("failed creating unit {name}: {}", output::go_err(&e)))?;
    tracing::debug!("Created Unit({name}) in Registry");
    Ok(())
}

/// fleetctl's `lazyCreateUnits`. Errors are printed by the caller as
/// `Error creating units: <error>`.
pub async fn lazy_create_units(
    api: &mut Api,
    args: &[String],
    replace: bool,
    ctx: Context,
    block_attempts: i64,
    timeout: Option<std::time::Duration>,
) -> Result<(), String> {
    let mut created = Vec::new();
    for arg in args {
        let arg = names::maybe_append_default_unit_type(arg);
        let name = names::unit_name_mangle(&arg);
        if !check_unit_creation(api, &arg, replace, ctx).await? {
            continue;
        }
        let unit = get_unit_file(api, &arg, replace).await?;
        create_unit(api, &name, &unit).await?;
        created.push(name);
    }
    // fleetctl waits for each new unit to report "inactive" with the --block-attempts value
    // (0, no limit, for submit), independently of --no-block.
    let opts = WaitOptions {
        attempts: block_attempts.max(0),
        timeout,
    };
    let mut failed = false;
    for name in created {
        if let Err(e) = wait::wait_for_unit_states(
            api,
            std::slice::from_ref(&name),
            "submit",
            fleet::DesiredState::Inactive,
            opts,
        )
        .await
        {
            output::stderr(&format!("Error waiting on unit creation: {e}"));
            failed = true;
        }
    }
    if failed {
        return Err("One or more errors creating units".to_string());
    }
    Ok(())
}

/// fleetctl's `setTargetStateOfUnits` (`lazyLoadUnits`, `lazyStartUnits`): sets the desired
/// state of each named unit not already in it; returns those it changed.
pub async fn set_target_state_of_units(
    api: &Api,
    args: &[String],
    state: fleet::DesiredState,
) -> Result<Vec<fleet::Unit>, String> {
    let mut triggered = Vec::new();
    for arg in args {
        let name = names::unit_name_mangle(arg);
        let unit = api
            .unit(&name)
            .await
            .map_err(|e| {
                format!(
                    "error retrieving unit {name} from registry: {}",
                    output::go_err(&e)
                )
            })?
            .ok_or_else(|| format!("unable to find unit {name}"))?;
        if unit.desired_state() == state {
            tracing::debug!("Unit({name}) already {state}, skipping.");
            continue;
        }
        tracing::debug!("Setting Unit({name}) target state to {state}");
        api.set_target_state(&name, state)
            .await
            .map_err(|e| output::go_err(&e))?;
        triggered.push(unit);
    }
    Ok(triggered)
}

/// fleetctl's `findUnits`: the units named by `args` that exist, in argument order.
pub async fn find_units(api: &Api, args: &[String]) -> fleet::Result<Vec<fleet::Unit>> {
    let units = api.units().await?;
    let mut found = Vec::new();
    for arg in args {
        let name = names::unit_name_mangle(arg);
        if let Some(u) = units.iter().find(|u| u.name() == Some(name.as_str())) {
            found.push(u.clone());
        }
    }
    Ok(found)
}

/// The unit's name (units from fleet always have one).
pub fn name_of(unit: &fleet::Unit) -> String {
    unit.name().unwrap_or_default().to_string()
}
