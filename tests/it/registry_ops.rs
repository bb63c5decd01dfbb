//! The registry operations as a library (`threatpack::ops::registry`), called in-process
//! against the real registry on loopback: typed answers, and errors a caller matches on.

use std::sync::Mutex;

use threatpack::ops::Progress;
use threatpack::ops::registry::{
    AddOwnerOptions, CreateNamespaceOptions, InfoOptions, PublishOptions, RegistryError,
    RegistryOptions, RemoveOwnerOptions, ShowNamespaceOptions, add_owner, create_namespace, info,
    publish, remove_owner, show_namespace,
};
use threatpack::signing::generate_key;

use crate::registry_client::{Registry, bundle, start_registry};
use crate::registry_lock::register;

fn admin(registry: &Registry) -> RegistryOptions {
    RegistryOptions {
        url: registry.url.clone(),
        token: Some(registry.admin.clone()),
    }
}

fn anonymous(registry: &Registry) -> RegistryOptions {
    RegistryOptions {
        url: registry.url.clone(),
        token: None,
    }
}

/// Records the steps an operation reports.
#[derive(Default)]
struct Steps(Mutex<Vec<String>>);

impl Progress for Steps {
    fn start(&self, step: &str, _total: u64) {
        self.0.lock().expect("not poisoned").push(step.to_string());
    }
}

#[test]
fn namespace_and_owner_operations_answer_wire_types_and_matchable_errors() {
    let registry = start_registry();
    let create = |registry_options: RegistryOptions, owners: &[&str]| {
        create_namespace(&CreateNamespaceOptions {
            registry: registry_options,
            name: "acme".to_string(),
            owners: owners.iter().map(|owner| owner.to_string()).collect(),
        })
    };

    let error = create(anonymous(&registry), &["alice"]).expect_err("needs a token");
    assert!(matches!(error, RegistryError::NoToken { .. }), "{error:?}");
    let mut wrong = admin(&registry);
    wrong.token = Some("tpr_not_a_token".to_string());
    let error = create(wrong, &["alice"]).expect_err("an unknown token");
    assert!(
        matches!(&error, RegistryError::Unauthorized { detail, .. } if detail == "the token is not valid"),
        "{error:?}"
    );

    let namespace = create(admin(&registry), &["alice"]).expect("created");
    assert_eq!(namespace.name, "acme");
    assert_eq!(namespace.owners, ["alice"]);
    let error = create(admin(&registry), &["alice"]).expect_err("exists");
    assert!(
        matches!(&error, RegistryError::Conflict { detail, .. } if detail == "namespace `acme` already exists"),
        "{error:?}"
    );
    let shown = show_namespace(&ShowNamespaceOptions {
        registry: anonymous(&registry),
        name: "acme".to_string(),
    })
    .expect("shown without a token");
    assert_eq!(shown, namespace);

    let error = add_owner(&AddOwnerOptions {
        registry: admin(&registry),
        namespace: "acme".to_string(),
        owner: "bob smith".to_string(),
    })
    .expect_err("not an owner name");
    match error {
        RegistryError::Refused {
            status, reasons, ..
        } => {
            assert_eq!(status, 422);
            assert_eq!(reasons.len(), 1);
            assert!(
                reasons[0].contains("`bob smith` is not an owner"),
                "{reasons:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    let change = add_owner(&AddOwnerOptions {
        registry: admin(&registry),
        namespace: "acme".to_string(),
        owner: "bob".to_string(),
    })
    .expect("added");
    assert!(change.added);
    assert_eq!(change.owners.owners, ["alice", "bob"]);

    let remove = |owner: &str| {
        remove_owner(&RemoveOwnerOptions {
            registry: admin(&registry),
            namespace: "acme".to_string(),
            owner: owner.to_string(),
        })
    };
    assert_eq!(remove("alice").expect("removed").owners, ["bob"]);
    let error = remove("bob").expect_err("the last owner stays");
    assert!(matches!(error, RegistryError::Conflict { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .ends_with("help: `threatpack owner add acme OWNER`, then remove `bob`"),
        "{error}"
    );
}

#[test]
fn publish_and_info_through_the_library() {
    let registry = start_registry();
    let key = generate_key(None).expect("a key");
    register(&registry, "acme", &key.public);

    let error = info(&InfoOptions {
        registry: anonymous(&registry),
        pack: "acme/web".to_string(),
    })
    .expect_err("nothing published yet");
    assert!(
        matches!(&error, RegistryError::NotFound { detail, .. } if detail == "no pack `acme/web`"),
        "{error:?}"
    );

    let work = tempfile::tempdir().expect("a temporary directory");
    let signed = bundle(work.path(), "web.tar.gz", "Web threats.", Some(&key.secret));
    let steps = Steps::default();
    let published = publish(
        &PublishOptions {
            registry: admin(&registry),
            bundle: signed.into(),
            signature: None,
            allow_semver_violation: None,
        },
        &steps,
    )
    .expect("published");
    assert!(published.created);
    assert_eq!(published.name, "acme/web");
    assert_eq!(
        *steps.0.lock().expect("not poisoned"),
        ["verifying", "uploading"]
    );

    let index = info(&InfoOptions {
        registry: anonymous(&registry),
        pack: "acme/web".to_string(),
    })
    .expect("the index");
    assert_eq!(index.versions.len(), 1);
    assert_eq!(index.versions[0].digest, published.digest);
    assert_eq!(index.versions[0].signer_key_id, published.signer_key_id);

    // Nothing listens on a closed port: a transport error, not a status.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", closed.local_addr().expect("address"));
    drop(closed);
    let error = create_namespace(&CreateNamespaceOptions {
        registry: RegistryOptions {
            url,
            token: Some("tpr_x".to_string()),
        },
        name: "other".to_string(),
        owners: vec![],
    })
    .expect_err("nothing listens");
    assert!(matches!(error, RegistryError::Transport(_)), "{error:?}");
}
