//! Charts of the statistics pass.
