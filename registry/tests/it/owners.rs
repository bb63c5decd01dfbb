//! Namespace owners: listing (public), adding and removing (admin), with their status codes
//! and audit entries.

use threatpack_registry::store::Store;
use threatpack_registry::tokens::Scope;

use crate::support::{Registry, detail, json, key};

impl Registry {
    async fn add_owner(&self, token: &str, namespace: &str, owner: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/namespaces/{namespace}/owners", self.url))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(serde_json::json!({ "owner": owner }).to_string())
            .send()
            .await
            .expect("request")
    }

    async fn remove_owner(&self, token: &str, namespace: &str, owner: &str) -> reqwest::Response {
        self.client
            .delete(format!(
                "{}/namespaces/{namespace}/owners/{owner}",
                self.url
            ))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_are_listed_added_once_and_removed_with_audit_entries() {
    let registry = Registry::start().await;
    registry.namespace_with_key("acme", &key()).await;
    let admin = registry.admin.clone();

    let listed = json(registry.get("/namespaces/acme/owners").await).await;
    assert_eq!(
        listed,
        serde_json::json!({ "namespace": "acme", "owners": ["alice"] })
    );

    let response = registry.add_owner(&admin, "acme", "bob@acme.example").await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        json(response).await["owners"],
        serde_json::json!(["alice", "bob@acme.example"])
    );
    let response = registry.add_owner(&admin, "acme", "bob@acme.example").await;
    assert_eq!(
        response.status(),
        200,
        "adding an owner again changes nothing"
    );
    assert_eq!(
        json(response).await["owners"],
        serde_json::json!(["alice", "bob@acme.example"])
    );

    let response = registry.remove_owner(&admin, "acme", "alice").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        json(response).await["owners"],
        serde_json::json!(["bob@acme.example"])
    );
    let namespace = json(registry.get("/namespaces/acme").await).await;
    assert_eq!(
        namespace["namespace"]["owners"],
        serde_json::json!(["bob@acme.example"])
    );

    let audit = registry.store.audit_log(3).expect("the audit log");
    let entries: Vec<(&str, &str, &str)> = audit
        .iter()
        .map(|entry| {
            (
                entry.action.as_str(),
                entry.target.as_str(),
                entry.detail.as_str(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("owner.remove", "acme", "alice"),
            ("owner.add", "acme", "bob@acme.example"),
            ("key.add", "acme", registry_key_id(&registry).as_str()),
        ],
        "one entry per change, none for the repeated add"
    );
    assert!(audit[0].actor.starts_with("token:"));
}

fn registry_key_id(registry: &Registry) -> String {
    registry.store.keys("acme").expect("the keys")[0]
        .key_id
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_owner_stays_and_unknown_owners_and_namespaces_are_404() {
    let registry = Registry::start().await;
    registry.namespace_with_key("acme", &key()).await;
    let admin = registry.admin.clone();

    let response = registry.remove_owner(&admin, "acme", "alice").await;
    assert_eq!(response.status(), 409);
    assert_eq!(
        detail(response).await,
        "`alice` is the last owner of namespace `acme`, and a namespace keeps at least one: add another owner first"
    );
    let response = registry.remove_owner(&admin, "acme", "mallory").await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        detail(response).await,
        "`mallory` is not an owner of namespace `acme` (owners: alice)"
    );

    for response in [
        registry.get("/namespaces/nowhere/owners").await,
        registry.add_owner(&admin, "nowhere", "bob").await,
        registry.remove_owner(&admin, "nowhere", "bob").await,
    ] {
        assert_eq!(response.status(), 404);
        assert_eq!(detail(response).await, "no namespace `nowhere`");
    }
    let owners = registry.store.namespace("acme").expect("the store");
    assert_eq!(
        owners.map(|namespace| namespace.owners),
        Some(vec!["alice".to_string()])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_owner_is_422_and_only_admins_change_owners() {
    let registry = Registry::start().await;
    registry.namespace_with_key("acme", &key()).await;
    let admin = registry.admin.clone();

    for invalid in ["", "bob smith", "<script>", &"a".repeat(101)] {
        let response = registry.add_owner(&admin, "acme", invalid).await;
        assert_eq!(response.status(), 422, "{invalid:?}");
        assert!(
            detail(response)
                .await
                .contains("is not an owner: a user name or an e-mail address"),
            "{invalid:?}"
        );
    }
    let response = registry.remove_owner(&admin, "acme", "bob%20smith").await;
    assert_eq!(response.status(), 422);
    let response = registry
        .client
        .post(format!("{}/namespaces", registry.url))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(r#"{"name":"vendor","owners":["alice","bob\nsmith"]}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(
        response.status(),
        422,
        "owners are checked when a namespace is created too"
    );
    assert_eq!(registry.get("/namespaces/vendor").await.status(), 404);

    let keys_manager = registry.token(&[Scope::ManageKeys, Scope::Publish], &["acme/*"], None);
    let response = registry.add_owner(&keys_manager, "acme", "bob").await;
    assert_eq!(response.status(), 403);
    assert!(detail(response).await.contains("`admin` scope"));
    let response = registry.remove_owner(&keys_manager, "acme", "alice").await;
    assert_eq!(response.status(), 403);
    let response = registry
        .client
        .post(format!("{}/namespaces/acme/owners", registry.url))
        .header("content-type", "application/json")
        .body(r#"{"owner":"bob"}"#)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401);
    let owners = json(registry.get("/namespaces/acme/owners").await).await;
    assert_eq!(owners["owners"], serde_json::json!(["alice"]));
}
