use crate::v1::UnitOption;

/// Serialize options into unit-file text, as go-systemd's `unit.Serialize` does.
pub fn serialize(options: &[UnitOption]) -> String {
    let _ = options;
    String::new()
}
