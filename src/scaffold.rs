//! `threatpack new`: a new pack that passes `check` and shows each file kind once.

use std::fs;
use std::path::Path;

use crate::names::check_pack_name;

/// The files of a new pack named `name`, as `(path inside the pack, contents)`.
pub fn pack_files(name: &str) -> Result<Vec<(String, String)>, String> {
    check_pack_name(name).map_err(|problem| format!("invalid pack name `{name}`: {problem}"))?;
    let manifest = format!(
        r#"#:schema https://threatpack.dev/schema/pack.schema.json
[pack]
format = 1
name = "{name}"
version = "0.1.0"
description = "Threats and mitigations for ... (say what systems this pack is for)."
license = "CC-BY-4.0"
authors = []
tiers = ["top", "standard"]

[dependencies]
# "threatpack/stride-core" = {{ version = "^1.0", path = "../stride-core" }}
"#
    );
    let entities = r#"# Kinds of component a threat model can contain, with the questions a modeler answers.
[[entity]]
id = "web-service"
name = "Web service"
description = "A process that answers HTTP requests."
kind = "process"

[entity.properties.internet_facing]
type = "bool"
default = false
description = "Whether clients on the internet can reach the service."
question = "Can clients on the internet reach this service directly?"
rationale = "Internet-facing services are exposed to anonymous attackers at any time."

[entity.properties.authentication]
type = "enum"
values = ["none", "password", "sso"]
default = "sso"
description = "How callers prove who they are."
question = "How do callers authenticate to this service?"
rationale = "Without authentication anyone who can reach the service can use it."
"#;
    let attack_patterns = r#"[[attack-pattern]]
id = "unauthenticated-access"
name = "Unauthenticated access"
description = "An attacker on the internet calls the service without proving who they are."
categories = ["spoofing", "elevation-of-privilege"]
applies-to = ["web-service"]
condition = 'self.internet_facing && self.authentication == "none"'
severity = "high"
likelihood = "high"
impact = "high"
tier = "top"

[attack-pattern.references]
capec = [115]
cwe = [306]
"#;
    let mitigations = r#"[[mitigation]]
id = "require-authentication"
name = "Require authentication on every request"
description = "Every request must carry a credential that the service verifies."
control = "preventive"
cost = "medium"
implementation = "Put the service behind the organisation's single sign-on, or verify tokens in a middleware that runs before every handler."
verification = "Call every endpoint without a credential and check that each answers 401."
tier = "top"
events = [{ id = "authn.request-rejected", description = "A request without a valid credential was rejected." }]

[[mitigation.addresses]]
attack-pattern = "unauthenticated-access"
strength = "strong"
"#;
    let overrides = r#"# Overrides adapt a dependency's items to your organisation's policy. Declare the dependency in
# pack.toml first, then, for example:
#
# [[override]]
# target = "threatpack/stride-core:attack-pattern/sql-injection"
# reason = "All our services are in PCI scope."
# severity = "critical"
"#;
    let test = r#"[test]
description = "A public service without authentication is open to unauthenticated access"
expect = ["unauthenticated-access@api"]
expect-absent = ["unauthenticated-access@internal"]

[[component]]
id = "api"
kind = "web-service"
properties = { internet_facing = true, authentication = "none" }

[[component]]
id = "internal"
kind = "web-service"
"#;
    Ok(vec![
        ("pack.toml".to_string(), manifest),
        ("entities/components.toml".to_string(), entities.to_string()),
        (
            "attack-patterns/access.toml".to_string(),
            attack_patterns.to_string(),
        ),
        (
            "mitigations/access.toml".to_string(),
            mitigations.to_string(),
        ),
        ("overrides/README.toml".to_string(), overrides.to_string()),
        (
            "tests/unauthenticated-api.toml".to_string(),
            test.to_string(),
        ),
    ])
}

/// Writes a new pack into `directory`, which must not exist or be empty. Nothing is written
/// when any check fails.
pub fn write(directory: &Path, name: &str) -> Result<Vec<String>, String> {
    let files = pack_files(name)?;
    if let Ok(mut entries) = fs::read_dir(directory)
        && entries.next().is_some()
    {
        return Err(format!(
            "`{}` is not empty; choose a new directory",
            directory.display()
        ));
    }
    let mut written = Vec::new();
    for (path, contents) in files {
        let target = directory.join(&path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)
                .map_err(|error| format!("cannot create `{}`: {error}", parent.display()))?;
        }
        fs::write(&target, contents)
            .map_err(|error| format!("cannot write `{}`: {error}", target.display()))?;
        written.push(path);
    }
    Ok(written)
}
