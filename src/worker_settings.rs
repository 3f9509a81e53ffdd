//! The `worker:` key of a `command` block: what the config says about its
//! long-lived workers. Part of the block's setup ([`crate::BlockSetup`]);
//! the runtime that honours it is `blocks/worker.rs`.

/// The `worker:` key of a `command` block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerSettings {
    /// Restart the worker after this many samples (`None`: never).
    pub recycle_after: Option<u64>,
    /// Restart it when its process group's resident memory exceeds this many
    /// MiB after a sample (`None`: no limit).
    pub max_memory_mb: Option<u64>,
}

impl WorkerSettings {
    /// Parses `worker: true | false | {recycle_after: N, max_memory_mb: M}`;
    /// `None` for `false`.
    pub fn parse(value: &serde_yaml::Value) -> Result<Option<Self>, String> {
        use serde_yaml::Value;
        let mapping = match value {
            Value::Bool(true) => return Ok(Some(Self::default())),
            Value::Bool(false) => return Ok(None),
            Value::Mapping(mapping) => mapping,
            _ => {
                return Err(
                    "`worker` must be true, false or a mapping with recycle_after and/or \
                     max_memory_mb"
                        .into(),
                )
            }
        };
        let mut settings = Self::default();
        for (key, value) in mapping {
            let key = key.as_str().unwrap_or("?");
            let slot = match key {
                "recycle_after" => &mut settings.recycle_after,
                "max_memory_mb" => &mut settings.max_memory_mb,
                other => {
                    return Err(format!(
                        "unknown key '{other}' under `worker`; known: recycle_after, \
                         max_memory_mb"
                    ))
                }
            };
            match value.as_u64() {
                Some(n) if n > 0 => *slot = Some(n),
                _ => {
                    let shown = serde_yaml::to_string(value).unwrap_or_default();
                    return Err(format!(
                        "worker.{key} is {}; it must be a positive integer",
                        shown.trim()
                    ));
                }
            }
        }
        Ok(Some(settings))
    }
}
