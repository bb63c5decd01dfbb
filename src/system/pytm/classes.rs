//! pytm 1.4.0's classes and their attributes (pytm/element.py, asset.py, actor.py, ...), and how
//! their names and values become threatpack's: what the importer (`import::pytm`), the model
//! reader (`system::pytm`) and the exporter (`export::pytm`) agree on.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use crate::model::ElementKind;

/// The type of a pytm attribute, and so of its property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttrType {
    Bool,
    Str,
    Int,
    /// `TLSVersion`, ordered: an int 0 (NONE) to 7 (TLSv13).
    Tls,
    /// `Classification`, ordered: an int 0 (UNKNOWN) to 5 (TOP_SECRET).
    Classification,
    /// `DatastoreType`: an enum of lowercase names.
    DatastoreType,
}

/// A pytm attribute's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttrDefault {
    Bool(bool),
    Str(&'static str),
    Int(i64),
}

type Attributes = &'static [(&'static str, AttrType, AttrDefault)];

use AttrDefault as D;
use AttrType as T;

pub(crate) const TLS_VERSIONS: [&str; 8] = [
    "NONE", "SSLv1", "SSLv2", "SSLv3", "TLSv10", "TLSv11", "TLSv12", "TLSv13",
];
pub(crate) const CLASSIFICATIONS: [&str; 6] = [
    "UNKNOWN",
    "PUBLIC",
    "RESTRICTED",
    "SENSITIVE",
    "SECRET",
    "TOP_SECRET",
];
pub(crate) const DATASTORE_TYPES: [&str; 5] = ["UNKNOWN", "FILE_SYSTEM", "SQL", "LDAP", "AWS_S3"];
/// `Lifetime` members (their names, as conditions write them).
pub(crate) const LIFETIMES: [&str; 7] = [
    "NONE",
    "UNKNOWN",
    "SHORT",
    "LONG",
    "AUTO",
    "MANUAL",
    "HARDCODED",
];

const ELEMENT: Attributes = &[
    ("inScope", T::Bool, D::Bool(true)),
    ("maxClassification", T::Classification, D::Int(0)),
    ("minTLSVersion", T::Tls, D::Int(0)),
];
const ASSET: Attributes = &[
    ("port", T::Int, D::Int(-1)),
    ("protocol", T::Str, D::Str("")),
    ("onAWS", T::Bool, D::Bool(false)),
    ("handlesResources", T::Bool, D::Bool(false)),
    ("usesEnvironmentVariables", T::Bool, D::Bool(false)),
    ("OS", T::Str, D::Str("")),
];

/// A pytm class: its name, its pytm parent, the entity made of it, its DFD kind (roots) or
/// parent entity, and the attributes it declares (or whose default it changes).
pub(crate) struct Class {
    pub name: &'static str,
    pub pytm_parent: &'static str,
    pub entity: &'static str,
    pub kind: ElementKind,
    pub parent_entity: Option<&'static str>,
    pub attributes: Attributes,
}

/// pytm's concrete classes. `Element` and `Asset` are not entities (an entity has one DFD
/// kind, and they cover several): their attributes are declared on each class below them.
pub(crate) const CLASSES: [Class; 11] = [
    Class {
        name: "Server",
        pytm_parent: "Asset",
        entity: "server",
        kind: ElementKind::Process,
        parent_entity: None,
        attributes: &[
            ("usesSessionTokens", T::Bool, D::Bool(false)),
            ("usesCache", T::Bool, D::Bool(false)),
            ("usesVPN", T::Bool, D::Bool(false)),
            ("usesXMLParser", T::Bool, D::Bool(false)),
        ],
    },
    Class {
        name: "Process",
        pytm_parent: "Asset",
        entity: "process",
        kind: ElementKind::Process,
        parent_entity: None,
        attributes: &[
            ("codeType", T::Str, D::Str("Unmanaged")),
            ("implementsCommunicationProtocol", T::Bool, D::Bool(false)),
            ("tracksExecutionFlow", T::Bool, D::Bool(false)),
            ("implementsAPI", T::Bool, D::Bool(false)),
            ("environment", T::Str, D::Str("")),
            ("allowsClientSideScripting", T::Bool, D::Bool(false)),
        ],
    },
    Class {
        name: "SetOfProcesses",
        pytm_parent: "Process",
        entity: "set-of-processes",
        kind: ElementKind::Process,
        parent_entity: Some("process"),
        attributes: &[],
    },
    Class {
        name: "Lambda",
        pytm_parent: "Asset",
        entity: "lambda",
        kind: ElementKind::Process,
        parent_entity: None,
        attributes: &[
            ("onAWS", T::Bool, D::Bool(true)),
            ("environment", T::Str, D::Str("")),
            ("implementsAPI", T::Bool, D::Bool(false)),
        ],
    },
    Class {
        name: "LLM",
        pytm_parent: "Asset",
        entity: "llm",
        kind: ElementKind::Process,
        parent_entity: None,
        attributes: &[
            ("isThirdParty", T::Bool, D::Bool(true)),
            ("isSelfHosted", T::Bool, D::Bool(false)),
            ("processesPersonalData", T::Bool, D::Bool(false)),
            ("retainsUserData", T::Bool, D::Bool(false)),
            ("hasAgentCapabilities", T::Bool, D::Bool(false)),
            ("hasAccessToSensitiveSystems", T::Bool, D::Bool(false)),
            ("executesCode", T::Bool, D::Bool(false)),
            ("hasContentFiltering", T::Bool, D::Bool(false)),
            ("hasSystemPrompt", T::Bool, D::Bool(true)),
            ("processesUntrustedInput", T::Bool, D::Bool(true)),
            ("hasRAG", T::Bool, D::Bool(false)),
            ("hasFineTuning", T::Bool, D::Bool(false)),
        ],
    },
    Class {
        name: "Agent",
        pytm_parent: "Asset",
        entity: "agent",
        kind: ElementKind::Process,
        parent_entity: None,
        attributes: &[
            ("usesExternalTools", T::Bool, D::Bool(false)),
            ("validatesToolLaunchConfig", T::Bool, D::Bool(false)),
        ],
    },
    Class {
        name: "Datastore",
        pytm_parent: "Asset",
        entity: "datastore",
        kind: ElementKind::DataStore,
        parent_entity: None,
        attributes: &[
            ("onRDS", T::Bool, D::Bool(false)),
            ("storesLogData", T::Bool, D::Bool(false)),
            ("storesPII", T::Bool, D::Bool(false)),
            ("storesSensitiveData", T::Bool, D::Bool(false)),
            ("isSQL", T::Bool, D::Bool(true)),
            ("isShared", T::Bool, D::Bool(false)),
            ("hasWriteAccess", T::Bool, D::Bool(false)),
            ("type", T::DatastoreType, D::Str("UNKNOWN")),
        ],
    },
    Class {
        name: "ExternalEntity",
        pytm_parent: "Asset",
        entity: "external-entity",
        kind: ElementKind::ExternalInteractor,
        parent_entity: None,
        attributes: &[("hasPhysicalAccess", T::Bool, D::Bool(false))],
    },
    Class {
        name: "Actor",
        pytm_parent: "Element",
        entity: "actor",
        kind: ElementKind::ExternalInteractor,
        parent_entity: None,
        attributes: &[
            ("port", T::Int, D::Int(-1)),
            ("protocol", T::Str, D::Str("")),
            ("isAdmin", T::Bool, D::Bool(false)),
        ],
    },
    Class {
        name: "Dataflow",
        pytm_parent: "Element",
        entity: "dataflow",
        kind: ElementKind::DataFlow,
        parent_entity: None,
        attributes: &[
            ("isResponse", T::Bool, D::Bool(false)),
            ("srcPort", T::Int, D::Int(-1)),
            ("dstPort", T::Int, D::Int(-1)),
            ("tlsVersion", T::Tls, D::Int(0)),
            ("protocol", T::Str, D::Str("")),
            ("order", T::Int, D::Int(-1)),
            ("implementsCommunicationProtocol", T::Bool, D::Bool(false)),
            ("note", T::Str, D::Str("")),
            ("usesVPN", T::Bool, D::Bool(false)),
            ("usesSessionTokens", T::Bool, D::Bool(false)),
        ],
    },
    Class {
        name: "Boundary",
        pytm_parent: "Element",
        entity: "boundary",
        kind: ElementKind::TrustBoundary,
        parent_entity: None,
        attributes: &[],
    },
];

/// `Controls`, on every element: all bools (default false) but two strings.
pub(crate) const CONTROLS: [&str; 43] = [
    "authenticatesDestination",
    "authenticatesSource",
    "authenticationScheme",
    "authorizesSource",
    "checksDestinationRevocation",
    "checksInputBounds",
    "definesConnectionTimeout",
    "disablesDTD",
    "disablesiFrames",
    "encodesHeaders",
    "encodesOutput",
    "encryptsCookies",
    "encryptsSessionData",
    "handlesCrashes",
    "handlesInterruptions",
    "handlesResourceConsumption",
    "hasAccessControl",
    "implementsAuthenticationScheme",
    "implementsCSRFToken",
    "implementsNonce",
    "implementsPOLP",
    "implementsServerSideValidation",
    "implementsStrictHTTPValidation",
    "invokesScriptFilters",
    "isEncrypted",
    "isEncryptedAtRest",
    "isHardened",
    "isResilient",
    "providesConfidentiality",
    "providesIntegrity",
    "sanitizesInput",
    "tracksExecutionFlow",
    "usesCodeSigning",
    "usesEncryptionAlgorithm",
    "usesMFA",
    "usesParameterizedInput",
    "usesSecureFunctions",
    "usesStrongSessionIdentifiers",
    "usesVPN",
    "validatesContentType",
    "validatesHeaders",
    "validatesInput",
    "verifySessionIdentifiers",
];

/// The boolean attributes of pytm's `Data` that per-datum conditions may test, in the order
/// their conjunctions are named (`carries_stored_and_dest_encrypted_at_rest`).
pub(crate) const DATA_FLAGS: [(&str, &str); 5] = [
    ("isPII", "pii"),
    ("isCredentials", "credentials"),
    ("isStored", "stored"),
    ("isDestEncryptedAtRest", "dest_encrypted_at_rest"),
    ("isSourceEncryptedAtRest", "source_encrypted_at_rest"),
];

pub(crate) fn class(name: &str) -> Option<&'static Class> {
    CLASSES.iter().find(|class| class.name == name)
}

pub(crate) fn class_of_entity(entity: &str) -> Option<&'static Class> {
    CLASSES.iter().find(|class| class.entity == entity)
}

/// The classes a threat's `target` names: a concrete class, or `Asset`/`Element` for all below.
pub(crate) fn targeted(name: &str) -> Option<Vec<&'static Class>> {
    match name {
        "Element" => Some(CLASSES.iter().collect()),
        "Asset" => Some(
            CLASSES
                .iter()
                .filter(|class| chain(class).contains(&"Asset"))
                .collect(),
        ),
        _ => class(name).map(|class| vec![class]),
    }
}

/// The class and its pytm ancestors, nearest first.
pub(crate) fn chain(class: &Class) -> Vec<&'static str> {
    let mut names = vec![class.name];
    let mut parent = class.pytm_parent;
    while let Some(next) = self::class(parent) {
        names.push(next.name);
        parent = next.pytm_parent;
    }
    if parent == "Asset" {
        names.push("Asset");
    }
    names.push("Element");
    names
}

/// The type and default of attribute `name` on `class` (its own, or inherited in pytm).
pub(crate) fn attribute(class: &Class, name: &str) -> Option<(AttrType, AttrDefault)> {
    for holder in chain(class) {
        let table = match holder {
            "Element" => ELEMENT,
            "Asset" => ASSET,
            other => self::class(other).map_or(&[][..], |class| class.attributes),
        };
        if let Some((_, kind, default)) = table.iter().find(|(attr, _, _)| *attr == name) {
            return Some((*kind, *default));
        }
    }
    None
}

/// Every attribute of `class` (own and inherited), each once.
pub(crate) fn attributes(class: &Class) -> Vec<(&'static str, AttrType, AttrDefault)> {
    let mut seen = BTreeSet::new();
    let mut all = Vec::new();
    for holder in chain(class) {
        let table = match holder {
            "Element" => ELEMENT,
            "Asset" => ASSET,
            other => self::class(other).map_or(&[][..], |class| class.attributes),
        };
        for entry in table {
            if seen.insert(entry.0) {
                all.push(*entry);
            }
        }
    }
    all
}

pub(crate) fn control_type(name: &str) -> Option<AttrType> {
    if !CONTROLS.contains(&name) {
        return None;
    }
    Some(
        if matches!(name, "authenticationScheme" | "usesEncryptionAlgorithm") {
            T::Str
        } else {
            T::Bool
        },
    )
}

/// pytm's camelCase to a property name: `usesVPN` -> `uses_vpn`.
pub(crate) fn snake(name: &str) -> String {
    match name {
        "disablesiFrames" => return "disables_iframes".to_string(),
        "OS" => return "os".to_string(),
        "type" => return "datastore_type".to_string(),
        _ => {}
    }
    let characters: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (index, character) in characters.iter().enumerate() {
        if character.is_ascii_uppercase() && index > 0 {
            let previous = characters[index - 1];
            let next_lower = characters
                .get(index + 1)
                .is_some_and(|next| next.is_ascii_lowercase());
            if previous.is_ascii_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_ascii_uppercase() && next_lower)
            {
                out.push('_');
            }
        }
        out.push(character.to_ascii_lowercase());
    }
    out
}

/// The property of a control: its snake name, or `controls_` and it when an attribute of some
/// class has the same name (`usesVPN` is both a Server attribute and a control).
pub(crate) fn control_property(name: &str) -> String {
    let clashes = CLASSES
        .iter()
        .any(|class| attributes(class).iter().any(|(attr, _, _)| *attr == name));
    if clashes {
        format!("controls_{}", snake(name))
    } else {
        snake(name)
    }
}

/// A pytm value (as the JSON dump writes it, or a default) as a property value.
pub(crate) fn property_default(kind: AttrType, default: AttrDefault) -> Json {
    match (kind, default) {
        (_, D::Bool(value)) => Json::Bool(value),
        (_, D::Int(value)) => Json::from(value),
        (T::DatastoreType, D::Str(value)) => Json::String(enum_value(value)),
        (_, D::Str(value)) => Json::String(value.to_string()),
    }
}

/// An enum member's name as a property value: `FILE_SYSTEM` -> `file-system`.
pub(crate) fn enum_value(member: &str) -> String {
    member.to_ascii_lowercase().replace('_', "-")
}

/// A data format as part of a property name: lowercase letters and digits, `_` between.
pub(crate) fn format_slug(format: &str) -> String {
    let mut slug = String::new();
    for character in format.chars() {
        if character.is_ascii_alphanumeric() {
            slug.push(character.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('_') {
            slug.push('_');
        }
    }
    let slug = slug.trim_end_matches('_');
    slug.chars().take(40).collect()
}

pub(crate) const MAX_CLASSIFICATION: &str = "data_max_classification";
pub(crate) const WEAKEST_INPUT_TLS: &str = "weakest_input_tls_version";
