//! Diagnostics: what `check` found, where, and what to do about it.
//!
//! Problems in a pack are data, not early returns: every step appends to a list so that one run
//! reports every mistake. Rendering lives in `render`.

use std::fmt;
use std::ops::Range;

use serde::Serialize;

/// Declares every diagnostic code once: its name, its default severity and a one-line summary.
macro_rules! codes {
    ($($variant:ident = $name:literal, $severity:ident, $summary:literal;)*) => {
        /// A diagnostic code. Each has a fixture under `tests/fixtures/check/` and is documented in
        /// docs/diagnostics.md.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable kebab-case name used in output and in `--deny`/docs.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                }
            }

            pub fn default_severity(self) -> Severity {
                match self {
                    $(Code::$variant => Severity::$severity,)*
                }
            }

            pub fn summary(self) -> &'static str {
                match self {
                    $(Code::$variant => $summary,)*
                }
            }
        }
    };
}

codes! {
    // Reading and parsing.
    InvalidUtf8 = "invalid-utf8", Error, "a pack file is not valid UTF-8";
    FileTooLarge = "file-too-large", Error, "a pack file is larger than the 8 MiB limit";
    TomlSyntax = "toml-syntax", Error, "a file is not valid TOML";
    MissingManifest = "missing-manifest", Error, "the directory has no `pack.toml`";
    SchemaViolation = "schema-violation", Error, "a file does not match the JSON Schema of its kind";
    // The manifest.
    InvalidName = "invalid-name", Error, "a pack name breaks the naming rules";
    InvalidVersion = "invalid-version", Error, "a version is not semver 2.0 without build metadata";
    InvalidLicense = "invalid-license", Error, "a licence is not a valid SPDX expression";
    InvalidRequirement = "invalid-requirement", Error, "a dependency requirement is not a semver requirement";
    DependencyUnavailable = "dependency-unavailable", Error, "a path dependency cannot be read";
    DependencyMismatch = "dependency-mismatch", Error, "a path dependency is not the pack or version required";
    // Items and references.
    DuplicateId = "duplicate-id", Error, "two items share an id";
    DuplicateLink = "duplicate-link", Error, "a mitigation addresses the same attack pattern twice";
    UnknownReference = "unknown-reference", Error, "a reference names no known item";
    UnknownCatalogReference = "unknown-catalog-reference", Error, "a CAPEC, ATT&CK or ASVS reference cites an id its catalog does not have";
    UnknownTier = "unknown-tier", Error, "a tier is not declared in `pack.toml`";
    ParentCycle = "parent-cycle", Error, "entities are their own ancestors";
    KindMismatch = "kind-mismatch", Error, "an element kind does not fit where it is used";
    InvalidProperty = "invalid-property", Error, "a property declaration is inconsistent";
    // Conditions.
    ConditionSyntax = "condition-syntax", Error, "a condition is not valid CEL";
    ConditionUnknownProperty = "condition-unknown-property", Error, "a condition reads a property or variable that does not exist";
    ConditionUnknownValue = "condition-unknown-value", Error, "a condition compares an enum with a value outside its `values`";
    ConditionType = "condition-type", Error, "a condition mixes types or is not a bool";
    // Overrides and pack tests.
    InvalidOverride = "invalid-override", Error, "an override cannot apply to its target";
    InvalidModel = "invalid-model", Error, "a system model (a pack test's, or one given to `apply`/`test`) is inconsistent";
    // Building.
    OverrideConflict = "override-conflict", Error, "two packs override the same field with different values";
    // Lints.
    UnmitigatedAttackPattern = "unmitigated-attack-pattern", Warning, "an attack pattern has no mitigation";
    UnusedMitigation = "unused-mitigation", Warning, "a mitigation addresses no attack pattern";
    TopWithoutTopMitigation = "top-without-top-mitigation", Warning, "a TOP attack pattern has no TOP mitigation";
    DeprecatedReference = "deprecated-reference", Warning, "a reference names a deprecated item";
    DeprecatedCatalogReference = "deprecated-catalog-reference", Warning, "a CAPEC or ATT&CK reference cites an id its catalog deprecated";
    CatalogUnavailable = "catalog-unavailable", Warning, "a catalog named in `[catalogs]` is not at its `path`: references are checked by format only";
    UnversionedAsvsReference = "unversioned-asvs-reference", Warning, "an ASVS reference does not say which version of ASVS it cites";
    ConstantCondition = "constant-condition", Warning, "a condition is always true or always false";
    EmptyDescription = "empty-description", Warning, "a description is empty";
    IneffectiveLinkTier = "ineffective-link-tier", Warning, "a link's own tier is smaller than one of its ends' and has no effect";
    UnusedProperty = "unused-property", Warning, "an entity property is read by no condition";
    UnknownFile = "unknown-file", Warning, "a TOML file is not where any pack file kind lives";
    UpstreamDrift = "upstream-drift", Warning, "an overridden item changed upstream since the override was reviewed";
    UnstampedOverride = "unstamped-override", Warning, "an override records no upstream digest to detect drift";
    TierUnmitigated = "tier-unmitigated", Warning, "an attack pattern has no mitigation in the tier being built";
}

impl fmt::Display for Code {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl Code {
    pub fn from_name(name: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|code| code.as_str() == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// A span of a file, with the text shown under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The file's display path.
    pub file: String,
    pub span: Range<usize>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// Where the problem is. Absent for problems of the pack as a whole (e.g. no `pack.toml`).
    pub primary: Option<Label>,
    /// Other places that explain the problem ("first defined here").
    pub secondary: Vec<Label>,
    /// What to do about it.
    pub help: Option<String>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn new(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.default_severity(),
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            help: None,
            notes: Vec::new(),
        }
    }

    pub fn at(mut self, file: &str, span: Range<usize>, text: impl Into<String>) -> Diagnostic {
        self.primary = Some(Label {
            file: file.to_string(),
            span,
            text: text.into(),
        });
        self
    }

    pub fn also(mut self, file: &str, span: Range<usize>, text: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label {
            file: file.to_string(),
            span,
            text: text.into(),
        });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    /// The file this diagnostic is about, for sorting and grouping.
    pub fn file(&self) -> Option<&str> {
        self.primary.as_ref().map(|label| label.file.as_str())
    }
}

/// Sorts diagnostics by file and position, so output does not depend on the order checks ran.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        let key = |diagnostic: &Diagnostic| {
            (
                diagnostic
                    .primary
                    .as_ref()
                    .map(|label| (label.file.clone(), label.span.start, label.span.end)),
                diagnostic.code,
                diagnostic.message.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
}
