//! The demo blocks read and write fixed file names: the check that a
//! config declares exactly those.

use crate::block::BlockSetup;

/// Checks that a block's declared inputs and outputs are exactly the files it
/// reads and writes (in any order), and that it has no optional outputs: a
/// block with fixed file names cannot honour other names.
pub(crate) fn expect_files(
    setup: &BlockSetup,
    inputs: &[&str],
    outputs: &[&str],
) -> Result<(), String> {
    let same = |declared: &[String], real: &[&str]| {
        let mut declared: Vec<&str> = declared.iter().map(String::as_str).collect();
        let mut real = real.to_vec();
        declared.sort_unstable();
        real.sort_unstable();
        declared == real
    };
    let list = |names: &[&str]| format!("[{}]", names.join(", "));
    if !same(&setup.inputs, inputs) {
        return Err(format!(
            "inputs are {:?}, but this block reads exactly {}",
            setup.inputs,
            list(inputs)
        ));
    }
    if !same(&setup.outputs, outputs) {
        return Err(format!(
            "outputs are {:?}, but this block writes exactly {}",
            setup.outputs,
            list(outputs)
        ));
    }
    if !setup.optional_outputs.is_empty() {
        return Err(format!(
            "optional outputs {:?} are not written by this block",
            setup.optional_outputs
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_files_must_match() {
        let setup = |inputs: &[&str], outputs: &[&str]| BlockSetup {
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
            ..BlockSetup::default()
        };
        assert!(expect_files(&setup(&["b", "a"], &["c"]), &["a", "b"], &["c"]).is_ok());
        let missing = expect_files(&setup(&["a"], &["c"]), &["a", "b"], &["c"]).unwrap_err();
        assert!(missing.contains("reads exactly [a, b]"), "{missing}");
        let extra = expect_files(&setup(&[], &["c", "d"]), &[], &["c"]).unwrap_err();
        assert!(extra.contains("writes exactly [c]"), "{extra}");
        let mut optional = setup(&[], &["c"]);
        optional.optional_outputs = vec!["d".into()];
        assert!(expect_files(&optional, &[], &["c"]).is_err());
    }
}
