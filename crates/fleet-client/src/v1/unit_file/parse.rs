use crate::v1::{Result, UnitOption};

/// Parse unit-file text into options, as go-systemd's `unit.Deserialize` does.
pub fn parse(text: &str) -> Result<Vec<UnitOption>> {
    let _ = text;
    Err(crate::v1::Error::InvalidUnit {
        line: None,
        message: "unit-file parsing is not implemented yet".into(),
    })
}
