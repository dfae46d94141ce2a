//! The `fleetctl` binary.

fn main() {
    std::process::exit(fleetctl::main());
}
