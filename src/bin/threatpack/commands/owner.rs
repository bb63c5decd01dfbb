//! `threatpack owner list|add|remove NAMESPACE [OWNER]`: who answers for a namespace on the
//! registry. Listing is public; adding and removing need an `admin` token.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::registry::{RegistryArgs, Request, Response, common_error, encode, send, token};

#[derive(Debug, Args)]
pub struct OwnerArgs {
    #[command(subcommand)]
    command: OwnerCommand,
}

#[derive(Debug, Subcommand)]
enum OwnerCommand {
    /// List the owners of a namespace, one per line
    List(ListArgs),
    /// Add an owner to a namespace (needs an `admin` token)
    Add(ChangeArgs),
    /// Remove an owner from a namespace (needs an `admin` token; the last owner stays)
    Remove(ChangeArgs),
}

#[derive(Debug, Args)]
struct ListArgs {
    /// The namespace, e.g. `acme`
    namespace: String,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Debug, Args)]
struct ChangeArgs {
    /// The namespace, e.g. `acme`
    namespace: String,
    /// A user name or an e-mail address, e.g. `alice@acme.example`
    owner: String,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn run(args: OwnerArgs) -> Result<ExitCode, String> {
    match args.command {
        OwnerCommand::List(args) => list(&args),
        OwnerCommand::Add(args) => add(&args),
        OwnerCommand::Remove(args) => remove(&args),
    }
}

fn list(args: &ListArgs) -> Result<ExitCode, String> {
    let registry = args.registry.url()?;
    let path = format!("/namespaces/{}/owners", encode(&args.namespace));
    let response = send(&registry, &Request::new("GET", &path))?;
    if response.status != 200 {
        return Err(error(&registry, &args.namespace, &response));
    }
    for owner in owners(&response)? {
        println!("{owner}");
    }
    Ok(ExitCode::SUCCESS)
}

fn add(args: &ChangeArgs) -> Result<ExitCode, String> {
    let registry = args.registry.url()?;
    let token = token(&registry)?;
    let path = format!("/namespaces/{}/owners", encode(&args.namespace));
    let body = serde_json::json!({ "owner": args.owner }).to_string();
    let mut request = Request::new("POST", &path);
    request.token = Some(&token);
    request.body = Some(("application/json", body.as_bytes()));
    let response = send(&registry, &request)?;
    let (namespace, owner) = (&args.namespace, &args.owner);
    match response.status {
        201 => println!("added `{owner}` to the owners of `{namespace}`"),
        200 => println!("`{owner}` already owns `{namespace}`"),
        _ => return Err(error(&registry, namespace, &response)),
    }
    println!("owners: {}", owners(&response)?.join(", "));
    Ok(ExitCode::SUCCESS)
}

fn remove(args: &ChangeArgs) -> Result<ExitCode, String> {
    let registry = args.registry.url()?;
    let token = token(&registry)?;
    let (namespace, owner) = (&args.namespace, &args.owner);
    let path = format!("/namespaces/{}/owners/{}", encode(namespace), encode(owner));
    let mut request = Request::new("DELETE", &path);
    request.token = Some(&token);
    let response = send(&registry, &request)?;
    match response.status {
        200 => println!("removed `{owner}` from the owners of `{namespace}`"),
        409 => {
            return Err(format!(
                "{}\nhelp: `threatpack owner add {namespace} OWNER`, then remove `{owner}`",
                response.detail()
            ));
        }
        _ => return Err(error(&registry, namespace, &response)),
    }
    println!("owners: {}", owners(&response)?.join(", "));
    Ok(ExitCode::SUCCESS)
}

/// The `owners` of an answer.
fn owners(response: &Response) -> Result<Vec<String>, String> {
    let body = response.json()?;
    Ok(body["owners"]
        .as_array()
        .map(|owners| {
            owners
                .iter()
                .filter_map(|owner| owner.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

/// What an error status means for the owner commands.
fn error(registry: &str, namespace: &str, response: &Response) -> String {
    let detail = response.detail();
    match response.status {
        404 if detail.starts_with("no namespace") => format!(
            "no namespace `{namespace}` on {registry}: check the name, or ask the registry's administrator to create it"
        ),
        404 => format!("{detail}\nhelp: see the owners with `threatpack owner list {namespace}`"),
        400 | 422 => format!("the registry refused: {detail}"),
        _ => common_error(registry, response, "the `admin` scope"),
    }
}
