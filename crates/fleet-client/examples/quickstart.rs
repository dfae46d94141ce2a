//! python-fleet's quick start, step by step, in Rust.
//!
//! ```sh
//! cargo run --example quickstart                                   # embedded fleet-testserver
//! FLEET_ENDPOINT=unix:///var/run/fleet.sock cargo run --example quickstart   # a real fleet
//! ```
//!
//! Without `FLEET_ENDPOINT` the example starts an embedded `fleet_testserver::TestServer` (a
//! stand-in fleet with three machines) and talks to it over TCP and over its unix socket. With
//! `FLEET_ENDPOINT` (`http://host:port`, `unix:///path`, `http+unix://%2Fpath`) it talks to that
//! fleet instead; the units it creates are named `quickstart-*.service` and destroyed at the end.

use std::io::Write as _;
use std::time::Duration;

use fleet::v1 as fleet;
use futures::TryStreamExt;

/// The names of the units the quick start creates (one per way of making a unit).
const NAMES: [&str; 4] = [
    "quickstart-new.service",
    "quickstart-options.service",
    "quickstart-string.service",
    "quickstart-file.service",
];

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => {
            println!("\nDone: every step of python-fleet's quick start worked.");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("\nThe quick start stopped: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // -- Create a client ------------------------------------------------------------------
    step("Create a client");
    let embedded;
    let endpoints: Vec<String> = match std::env::var("FLEET_ENDPOINT") {
        Ok(endpoint) if !endpoint.trim().is_empty() => {
            println!("   FLEET_ENDPOINT is set: using the fleet at {endpoint}");
            vec![endpoint]
        }
        _ => {
            embedded = fleet_testserver::TestServer::start()?;
            println!("   FLEET_ENDPOINT is not set: started an embedded fleet-testserver");
            println!("   (a stand-in fleet for trying things out, with three machines)");
            vec![
                embedded.http_endpoint(),
                embedded
                    .unix_endpoint()
                    .ok_or("the embedded server has no unix socket")?,
            ]
        }
    };
    // fleet::Client::new fetches fleet's discovery document; python-fleet raises ValueError
    // where we return Error::Discovery.
    let mut clients = Vec::new();
    for endpoint in &endpoints {
        match fleet::Client::new(endpoint).await {
            Ok(client) => {
                println!("   connected to {endpoint} and read its discovery document");
                clients.push(client);
            }
            Err(e) => {
                println!("   Unable to discover fleet: {e}");
                return Err(e.into());
            }
        }
    }
    // The last client is the unix-socket one when the server is embedded; use it from here on
    // (the TCP one works just the same).
    let client = clients.pop().ok_or("no client")?;

    // -- Create a unit, four ways -----------------------------------------------------------
    step("Create units (four ways of making a Unit)");

    // 1. Instantiate and manually add options.
    let mut by_hand = fleet::Unit::new();
    by_hand
        .add_option("Unit", "Description", "Quick start unit built by hand")
        .add_option("Service", "ExecStart", "/usr/bin/sleep 1d");

    // 2. From an existing list of options.
    let from_options = fleet::Unit::from_options(vec![
        fleet::UnitOption::new("Unit", "Description", "Quick start unit from options"),
        fleet::UnitOption::new("Service", "ExecStart", "/usr/bin/sleep 1d"),
    ]);
    // 3. From a string containing a unit file.
    let from_string = fleet::Unit::from_string(
        "[Unit]\nDescription=Quick start unit from a string\n\n[Service]\nExecStart=/usr/bin/sleep 1d\n",
    )?;
    // 4. From a file.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("foo.service");
    std::fs::File::create(&path)?.write_all(
        b"[Unit]\nDescription=Quick start unit read from a file\n\n[Service]\nExecStart=/usr/bin/sleep 1d\n",
    )?;
    let from_file = fleet::Unit::from_file(&path)?;

    let units = [by_hand, from_options, from_string, from_file];
    let how = [
        "Unit::new() + add_option",
        "Unit::from_options",
        "Unit::from_string",
        "Unit::from_file",
    ];
    let mut created = Vec::new();
    for (i, ((name, unit), how)) in NAMES.iter().zip(&units).zip(how).enumerate() {
        println!("   {}. {how}:", i + 1);
        for line in unit.to_string().lines() {
            println!("        | {line}");
        }
        // create_unit submits the unit and returns it as fleet holds it.
        match client.create_unit(name, unit).await {
            Ok(unit) => {
                println!(
                    "      created {name}: desired state {}, hash {}",
                    unit.desired_state(),
                    unit.hash()
                );
                created.push(unit);
            }
            Err(e) => {
                println!("      Unable to create unit: {e}");
                return Err(e.into());
            }
        }
    }

    // -- Modify a unit's desired state -------------------------------------------------------
    step("Modify a unit's desiredState");
    let unit = created.first_mut().ok_or("no unit was created")?;
    match unit.set_desired_state(fleet::DesiredState::Inactive).await {
        Ok(_) => println!(
            "   {} is now desired {}",
            unit.name().unwrap_or("?"),
            unit.desired_state()
        ),
        Err(e) => {
            println!("   Unable to modify unit: {e}");
            return Err(e.into());
        }
    }

    // -- List units --------------------------------------------------------------------------
    step("List units");
    let mut listed = std::pin::pin!(client.list_units());
    let mut count = 0;
    while let Some(unit) = listed.try_next().await? {
        count += 1;
        println!(
            "   {:<32} desired {:<9} current {:<9} machine {}",
            unit.name().unwrap_or("?"),
            unit.desired_state().to_string(),
            unit.current_state()
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into()),
            unit.machine_id().unwrap_or("-")
        );
    }
    println!("   ({count} units)");

    // -- Get a unit --------------------------------------------------------------------------
    step("Get a unit");
    let name = NAMES[2];
    let unit = client.get_unit(name).await?;
    println!(
        "   {name}: desired {}, {} option(s), hash {}",
        unit.desired_state(),
        unit.options().len(),
        unit.hash()
    );
    match client.get_unit("foo.service").await {
        Ok(_) => println!("   foo.service exists"),
        Err(e) if e.code() == Some(404) => {
            println!("   Unit foo.service does not exist. (fleet said: {e})")
        }
        Err(e) => {
            println!("   Unable to get unit: {e}");
            return Err(e.into());
        }
    }

    // -- List current unit state -------------------------------------------------------------
    step("List current unit state");
    if std::env::var("FLEET_ENDPOINT").is_err() {
        // The embedded fleet's agents report states shortly after scheduling; wait for one of
        // ours so the list below has something of the quick start in it.
        let waited = client
            .wait_for_unit_state(
                NAMES[1],
                fleet::DesiredState::Launched,
                Duration::from_secs(10),
            )
            .await;
        if let Err(e) = waited {
            println!("   (still waiting for {}: {e})", NAMES[1]);
        }
    }
    let states: Vec<fleet::UnitState> = client.list_unit_states(None, None).try_collect().await?;
    for s in &states {
        println!(
            "   {:<32} on {}  {}/{}/{}",
            s.name,
            short(&s.machine_id),
            s.systemd_load_state,
            s.systemd_active_state,
            s.systemd_sub_state
        );
    }
    println!("   ({} unit states)", states.len());

    // -- List machines -----------------------------------------------------------------------
    step("List machines");
    let machines: Vec<fleet::Machine> = client.list_machines().try_collect().await?;
    for m in &machines {
        let metadata: Vec<String> = m.metadata.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("   {}  {:<15} {}", m.id, m.primary_ip, metadata.join(","));
    }
    println!("   ({} machines)", machines.len());

    // -- Clean up ------------------------------------------------------------------------------
    step("Clean up");
    for name in NAMES {
        client.destroy_unit(name).await?;
        println!("   destroyed {name}");
    }
    Ok(())
}

fn step(title: &str) {
    println!("\n== {title}");
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}
