//! The client against fleet-testserver, for what the other suites do not cover: concurrent use
//! of one client, re-submitting a detached unit, paged unit states with filters, and several
//! metadata edits in one PATCH.

use std::collections::BTreeMap;
use std::time::Duration;

use fleet::v1 as fleet;
use fleet::{DesiredState, MachineMetadataOp, Unit, UnitState};
use fleet_testserver::TestServer;
use futures::TryStreamExt;

fn sleep_unit() -> Unit {
    Unit::from_string("[Service]\nExecStart=/usr/bin/sleep 1d\n").unwrap()
}

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("the client hung")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_shared_by_many_tasks() {
    let server = TestServer::start().unwrap();
    let client = fleet::Client::new(&server.http_endpoint()).await.unwrap();
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let name = format!("c{i:02}.service");
                let unit = sleep_unit().with_desired_state(DesiredState::Inactive);
                let created = client.create_unit(&name, &unit).await?;
                assert_eq!(created.name(), Some(name.as_str()));
                client.get_unit(&name).await
            })
        })
        .collect();
    for task in tasks {
        within(task).await.unwrap().unwrap();
    }
    let units: Vec<Unit> = within(client.list_units().try_collect()).await.unwrap();
    let names: Vec<&str> = units.iter().filter_map(|u| u.name()).collect();
    let expected: Vec<String> = (0..40).map(|i| format!("c{i:02}.service")).collect();
    assert_eq!(names, expected);
}

#[tokio::test]
async fn a_detached_unit_resubmitted_replaces_the_one_in_fleet() {
    let server = TestServer::start().unwrap();
    let client = fleet::Client::new(&server.http_endpoint()).await.unwrap();
    let original = client
        .create_unit(
            "edit.service",
            &sleep_unit().with_desired_state(DesiredState::Inactive),
        )
        .await
        .unwrap();
    let old_hash = original.hash().to_string();

    let mut edited = original.clone();
    edited.add_option("Unit", "Description", "edited");
    assert!(!edited.is_from_cluster());
    // The cluster copy is untouched until the edit is submitted.
    assert_eq!(client.get_unit("edit.service").await.unwrap(), original);

    let name = edited.name().unwrap().to_string();
    let replaced = client.create_unit(&name, &edited).await.unwrap();
    assert!(replaced.is_from_cluster());
    assert_eq!(replaced.options(), edited.options());
    assert_ne!(replaced.hash().to_string(), old_hash);
}

#[tokio::test]
async fn unit_states_page_and_filter() {
    let server = TestServer::builder().page_size(7).start().unwrap();
    let client = fleet::Client::new(&server.http_endpoint()).await.unwrap();
    for i in 0..12 {
        client
            .create_unit(&format!("s{i:02}.service"), &sleep_unit())
            .await
            .unwrap();
    }
    let mut global = sleep_unit();
    global.add_option("X-Fleet", "Global", "true");
    client.create_unit("g.service", &global).await.unwrap();
    assert!(server.settled(Duration::from_secs(20)).await);

    // 12 scheduled units + one global unit on each of the 3 machines: 15 states, 3 pages.
    let states: Vec<UnitState> = within(client.list_unit_states(None, None).try_collect())
        .await
        .unwrap();
    assert_eq!(states.len(), 15);
    assert_eq!(states.len(), server.unit_states().len());

    let global_states: Vec<UnitState> = within(
        client
            .list_unit_states(None, Some("g.service"))
            .try_collect(),
    )
    .await
    .unwrap();
    assert_eq!(global_states.len(), 3);
    assert!(global_states.iter().all(|s| s.name == "g.service"));

    let machine = global_states[0].machine_id.clone();
    let on_machine: Vec<UnitState> =
        within(client.list_unit_states(Some(&machine), None).try_collect())
            .await
            .unwrap();
    assert!(on_machine.iter().all(|s| s.machine_id == machine));
    let expected = states.iter().filter(|s| s.machine_id == machine).count();
    assert_eq!(on_machine.len(), expected);

    let both: Vec<UnitState> = within(
        client
            .list_unit_states(Some(&machine), Some("g.service"))
            .try_collect(),
    )
    .await
    .unwrap();
    assert_eq!(both.len(), 1);
}

#[tokio::test]
async fn several_metadata_edits_in_one_patch() {
    let server = TestServer::start().unwrap();
    let client = fleet::Client::new(&server.http_endpoint()).await.unwrap();
    let machines: Vec<fleet::Machine> = client.list_machines().try_collect().await.unwrap();
    let (a, b) = (machines[0].id.clone(), machines[1].id.clone());

    client
        .patch_machine_metadata(&[
            MachineMetadataOp::Add {
                machine_id: a.clone(),
                key: "rack".into(),
                value: "r42".into(),
            },
            MachineMetadataOp::Replace {
                machine_id: b.clone(),
                key: "rack".into(),
                value: "r7".into(),
            },
        ])
        .await
        .unwrap();
    let metadata = |ms: &[fleet::Machine], id: &str| -> BTreeMap<String, String> {
        ms.iter().find(|m| m.id == id).unwrap().metadata.clone()
    };
    let after: Vec<fleet::Machine> = client.list_machines().try_collect().await.unwrap();
    assert_eq!(metadata(&after, &a)["rack"], "r42");
    assert_eq!(metadata(&after, &b)["rack"], "r7");

    client.remove_machine_metadata(&a, "rack").await.unwrap();
    client.set_machine_metadata(&b, "rack", "r8").await.unwrap();
    let after: Vec<fleet::Machine> = client.list_machines().try_collect().await.unwrap();
    assert!(!metadata(&after, &a).contains_key("rack"));
    assert_eq!(metadata(&after, &b)["rack"], "r8");
}
