//! `oidfed resolve`: an entity identifier in; the chain as a tree, the organization binding
//! with its evidence, trust marks, resolved metadata and every path tried out (human, JSON,
//! DOT or Mermaid).

use clap::Args;
use oidfed::EntityType;

use crate::Exit;
use crate::anchors::{AnchorArgs, ResolverOptions, build_resolver};
use crate::graph::Picture;
use crate::net::NetworkArgs;
use crate::output::{error_json, exit_for, print_json, usage_failure};
use crate::report::{deviations, print_trusted, trusted_json};

/// `oidfed resolve`.
#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// The entity identifier to resolve.
    pub entity_id: String,
    #[command(flatten)]
    pub anchors: AnchorArgs,
    /// The Entity Type whose metadata is resolved.
    #[arg(long, default_value = "openid_relying_party", value_name = "TYPE")]
    pub entity_type: String,
    #[command(flatten)]
    pub format: FormatArgs,
    /// Fail unless the entity holds a valid trust mark of this type. Repeatable.
    #[arg(long, value_name = "TYPE")]
    pub require_trust_mark: Vec<String>,
    /// Fail unless a superior asserts the client's organization (not only the client).
    #[arg(long)]
    pub require_asserted_organization: bool,
    /// Accept `application/entity-statement+jwt` and case variants as `typ` (interop).
    #[arg(long)]
    pub lenient_typ: bool,
    #[command(flatten)]
    pub net: NetworkArgs,
}

/// How the result is printed.
#[derive(Debug, Clone, Args)]
#[group(multiple = false)]
pub struct FormatArgs {
    /// One JSON document on stdout (errors too).
    #[arg(long)]
    pub json: bool,
    /// A Graphviz DOT picture of every path tried, valid and failed.
    #[arg(long)]
    pub dot: bool,
    /// A Mermaid picture of every path tried, valid and failed.
    #[arg(long)]
    pub mermaid: bool,
}

pub async fn run(args: ResolveArgs) -> Exit {
    let command = "resolve";
    let json = args.format.json;
    let opts = ResolverOptions {
        lenient_typ: args.lenient_typ,
        required_marks: args.require_trust_mark.clone(),
        require_asserted_organization: args.require_asserted_organization,
        at: None,
    };
    let resolver = match build_resolver(&args.net, &args.anchors, &opts).await {
        Ok(r) => r,
        Err(e) => return usage_failure(command, json, e.exit, &e.message),
    };
    let subject = match resolver.entity_id(&args.entity_id) {
        Ok(s) => s,
        Err(e) => return usage_failure(command, json, Exit::Usage, &e.to_string()),
    };
    let entity_type = EntityType::new(args.entity_type.clone());
    let tolerated = deviations(args.net.allow_http, args.lenient_typ);
    let result = match resolver.resolve(&subject, &entity_type).await {
        Ok(resolved) => match resolver.record_from(&resolved).await {
            Ok(record) => Ok((resolved, record)),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match result {
        Ok((resolved, record)) => {
            if json {
                print_json(&trusted_json(command, &resolved, &record, &tolerated));
            } else if args.format.dot {
                out_raw!("{}", Picture::of_resolved(&resolved).dot());
            } else if args.format.mermaid {
                out_raw!("{}", Picture::of_resolved(&resolved).mermaid());
            } else {
                print_trusted(&resolved, &record, &tolerated);
            }
            Exit::Ok
        }
        Err(e) => {
            if json {
                print_json(&error_json(command, Some(subject.as_str()), &e));
            } else if args.format.dot || args.format.mermaid {
                let p = Picture::of_error(subject.as_str(), &e);
                out_raw!(
                    "{}",
                    if args.format.dot {
                        p.dot()
                    } else {
                        p.mermaid()
                    }
                );
                eprintln!("✘ NOT TRUSTED  {subject}: {e}");
            } else {
                print_failure(subject.as_str(), &e);
            }
            exit_for(&e)
        }
    }
}

/// The human report of a failure (on stdout: it is the answer).
pub fn print_failure(subject: &str, e: &oidfed::Error) {
    let verdict = if e.is_transient() {
        "COULD NOT CHECK (transient: retry later)"
    } else {
        "NOT TRUSTED"
    };
    out!("✘ {verdict}  {subject}");
    out!("  spec code: {}", e.spec_code());
    if let Some(r) = e.rule() {
        out!("  rule: {r}");
    }
    out!("  {e}");
}
