//! The command-line contract (the README's commands, `paysec help`, exit
//! codes in `docs/exit-codes.md`). Spelling here is a promise: scripts
//! depend on it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "paysec",
    version,
    about = "Build and tear down an AWS environment for payment APIs designed to support PCI DSS v4.0.1 requirements, directly through the AWS SDK",
    after_help = "Examples:\n  paysec --env dev-001 plan\n  paysec up --env dev-001 --yes\n  paysec output rds_endpoint --raw\n  paysec down --env dev-001 --yes\n\nExit codes: 0 ok, 1 internal error, 2 usage/config, 3 AWS operation failed,\n4 AWS unreachable/credentials/permission refused, 5 ledger locked/corrupt, 6 controls failing,\n7 confirmation required, 8 plan has changes (--detailed-exitcode), 9 saved plan stale,\n10 controls not checked, 130 interrupted. See docs/exit-codes.md."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Environment suffix of every name (else PAYSEC_ENV, else config `environment_suffix`);
    /// repeat it with `up`/`down` to run a fleet of environments at once
    #[arg(long, global = true, value_name = "NAME", action = clap::ArgAction::Append)]
    pub env: Vec<String>,
    /// Config file (default: ./paysec.toml if present; also PAYSEC_CONFIG)
    #[arg(long, global = true, value_name = "FILE", env = "PAYSEC_CONFIG")]
    pub config: Option<PathBuf>,
    /// AWS profile (else AWS_PROFILE)
    #[arg(long, global = true, value_name = "P")]
    pub profile: Option<String>,
    /// AWS region (else AWS_REGION or the profile's)
    #[arg(long, global = true, value_name = "R")]
    pub region: Option<String>,
    /// AWS endpoint, e.g. an emulator (else AWS_ENDPOINT_URL)
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Assume this IAM role for the environment (its own account); else
    /// the config's `[environments.NAME] role_arn`
    #[arg(long, global = true, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// The external id the role's trust policy asks for (with --role-arn;
    /// PAYSEC_EXTERNAL_ID keeps it out of the process list)
    #[arg(long, global = true, value_name = "ID", requires = "role_arn")]
    pub external_id: Option<String>,
    /// The assumed role's session name (default paysec-ENV; CloudTrail
    /// shows it)
    #[arg(long, global = true, value_name = "NAME", requires = "role_arn")]
    pub role_session_name: Option<String>,
    /// Accept a plain http:// endpoint on another host (an emulator in a CI
    /// service container); refused otherwise
    #[arg(long, global = true)]
    pub allow_http_endpoint: bool,
    /// Where the ledgers live: a directory (default .paysec) or
    /// s3://BUCKET[/PREFIX], shared by a team with locking (else config
    /// `ledger`, PAYSEC_LEDGER); --ledger-dir is an alias
    #[arg(long, global = true, value_name = "URL", alias = "ledger-dir")]
    pub ledger: Option<String>,
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Only errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More detail (-v paysec, -vv with the SDK, -vvv everything); RUST_LOG overrides
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Whether `--env` was given on both sides of the command: clap then keeps
/// only the later ones, and a fleet would silently lose environments.
pub fn envs_split_around_the_command(raw: &[String], parsed: &[String]) -> bool {
    let given = raw
        .iter()
        .filter(|a| *a == "--env" || a.starts_with("--env="))
        .count();
    given > parsed.len()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or converge the environment
    #[command(
        after_help = "Examples:\n  paysec up --env dev-001          # shows the plan, asks\n  paysec up --env dev-001 --yes    # scripts and CI\n  paysec up --env dev-001 --no-refresh --yes   # fast: converged resources only checked to exist\n  paysec plan --env dev-001 --out plan.json && paysec up --env dev-001 --plan plan.json"
    )]
    Up(UpArgs),
    /// Destroy the environment
    #[command(
        after_help = "KMS keys are scheduled for deletion (kms.deletion_window_days). The audit\nlogs (log buckets, log groups) are kept for their retention, with the keys\nthey are encrypted with, unless --purge-audit-logs; the ledger records what\nwas kept, and a later `up` of the environment adopts it.\n\nExamples:\n  paysec down --env dev-001 --yes\n  paysec down --env dev-001 --purge-audit-logs   # asks first"
    )]
    Down(DownArgs),
    /// Show what `up` (or `down`) would do; changes nothing
    #[command(
        after_help = "Examples:\n  paysec plan --env dev-001\n  paysec plan --env dev-001 --destroy --output json\n  paysec plan --env dev-001 --detailed-exitcode   # 0: nothing to do, 8: changes"
    )]
    Plan {
        /// Plan `down` instead of `up`
        #[arg(long)]
        destroy: bool,
        #[command(flatten)]
        refresh: Refresh,
        /// Exit 0 when there is nothing to do, 8 when the plan has changes
        /// (errors keep their own codes), for CI scripts
        #[arg(long)]
        detailed_exitcode: bool,
        /// Save the plan to FILE, for `up --plan FILE` to apply exactly
        #[arg(long, value_name = "FILE", conflicts_with = "destroy")]
        out: Option<PathBuf>,
    },
    /// What the ledger holds (no AWS call but reading a shared ledger)
    #[command(
        after_help = "Examples:\n  paysec status --env dev-001\n  paysec status --output json | jq '.resources[] | select(.status != \"ready\")'"
    )]
    Status,
    /// Stack outputs, e.g. kms_rds_key_arn (no AWS call but reading a shared ledger)
    #[command(after_help = "Examples:\n  paysec output\n  paysec output kms_s3_key_arn --raw")]
    Output {
        /// One output by name
        name: Option<String>,
        /// Print the bare value, for shell scripts
        #[arg(long, requires = "name")]
        raw: bool,
    },
    /// Live check of the configuration against the PCI DSS controls; exit 6 on any failure, 10 on any control not checked
    #[command(
        after_help = "Examples:\n  paysec verify\n  paysec verify --report evidence.md\n  paysec verify --output json | jq '.summary'\n  paysec verify --list                # the control catalog"
    )]
    Verify {
        /// Also write the configuration evidence as a report, its format
        /// by extension: .md (Markdown, the default), .json, .html, .xml
        /// (JUnit), .sarif; beside it the raw answers and a SHA-256 manifest
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Print the control catalog (id, requirements, what it checks,
        /// where) and exit; no AWS access
        #[arg(long, conflicts_with = "report")]
        list: bool,
        /// Exit 0 though some controls could not be checked (UNKNOWN);
        /// without it an UNKNOWN exits 10, since it is not a pass
        #[arg(long)]
        allow_unknown: bool,
    },
    /// Send a test payment through the deployed function
    #[command(
        after_help = "Examples:\n  paysec invoke                       # the example payment\n  paysec invoke --payload '{\"body\": \"{\\\"transaction_id\\\": \\\"t-2\\\", \\\"amount\\\": 5}\"}'\n  paysec invoke --payload-file event.json\n  paysec invoke --api --path /payments --payload '{\"amount\": 5}'   # from inside the VPC"
    )]
    Invoke {
        /// The event, as JSON (default: an example payment, transaction test-001 of 99.99); with --api, the request's body
        #[arg(long, conflicts_with = "payload_file")]
        payload: Option<String>,
        /// A file holding the event
        #[arg(long, value_name = "F")]
        payload_file: Option<PathBuf>,
        /// Call the payment API (POST, SigV4-signed) instead of the function:
        /// works where the caller reaches the API's VPC endpoint
        #[arg(long)]
        api: bool,
        /// With --api: the path under the stage
        #[arg(
            long,
            value_name = "PATH",
            default_value = "/payments",
            requires = "api"
        )]
        path: String,
    },
    /// Ship the configured code only: package, upload, publish a version, move `live` to it
    #[command(
        after_help = "Nothing but the function's code is read or written: settings change with\n`paysec up`. The release is recorded in the ledger (version, CodeSha256, when,\nwho), and ends a rollback in force.\n\nExamples:\n  paysec deploy --env prod-001          # asks first\n  paysec deploy --env prod-001 --yes    # CI"
    )]
    Deploy {
        /// Do not ask for confirmation
        #[arg(long, alias = "auto-approve")]
        yes: bool,
    },
    /// Move `live` back to the previous (or a named) release, in one call
    #[command(
        after_help = "The rollback holds: `up` keeps that release in service and never ships the\none rolled back from again, until the configured package changes or\n`paysec deploy` runs.\n\nExamples:\n  paysec rollback --env prod-001 --yes\n  paysec rollback --env prod-001 --to 7 --yes"
    )]
    Rollback {
        /// The version to go back to (see `paysec releases`)
        #[arg(long, value_name = "VERSION")]
        to: Option<String>,
        /// Do not ask for confirmation
        #[arg(long, alias = "auto-approve")]
        yes: bool,
    },
    /// The function's releases: version, CodeSha256, when, by whom, which is in service (no AWS call but reading a shared ledger)
    #[command(
        after_help = "Examples:\n  paysec releases --env prod-001\n  paysec releases --output json"
    )]
    Releases,
    /// The PCI DSS 1.2.3 network diagram or 1.2.4 data-flow diagram, read from the live environment
    #[command(
        after_help = "Read only, like `verify`: the survey of every resource, then the VPC's own listings\n(subnets, groups and rules, interfaces, endpoints, routes, ACLs, gateways). SVG is\nlaid out by Graphviz's `dot` (apt-get install graphviz); DOT and Mermaid need nothing.\n\nExamples:\n  paysec diagram --env prod-001 --kind network > network.svg\n  paysec diagram --env prod-001 --kind data-flow --format mermaid\n  paysec diagram --env prod-001 --kind network --format dot --out network.dot"
    )]
    Diagram {
        /// Which diagram: the network (1.2.3) or the data flows (1.2.4)
        #[arg(long, value_enum)]
        kind: DiagramKind,
        /// SVG (laid out by Graphviz's `dot`), or the DOT or Mermaid text
        #[arg(long, value_enum, default_value_t = DiagramFormat::Svg)]
        format: DiagramFormat,
        /// Write it to FILE instead of standard output
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// The resource graph, colored by ledger status
    #[command(
        after_help = "Examples:\n  paysec graph | dot -Tsvg > stack.svg\n  paysec graph --format mermaid"
    )]
    Graph {
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Remove a shared ledger's lock left by a run that died (`paysec
    /// force-unlock --env NAME LOCK_ID`), as the refusal of the next run
    /// names it
    #[command(
        after_help = "The lock's id is in the message of the run it refused. Only remove a lock\nwhose run is gone: two runs writing one environment race for its resources.\n\nExamples:\n  paysec force-unlock --env prod-001 --ledger s3://team-state/paysec 3f9c2a7d41e0b8c6\n  paysec force-unlock --env prod-001 3f9c2a7d41e0b8c6 --yes"
    )]
    ForceUnlock {
        /// The lock's id
        lock_id: String,
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
    },
    /// Shared ledgers: create the state bucket, move a ledger, list its versions
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// The IAM policy documents a principal needs to run paysec here:
    /// exact actions, resources scoped to the environment(s)
    #[command(
        after_help = "Built from the permission rows of every AWS call paysec makes, for the\nconfigured environment(s), account, region, ledger and components. Each\nstatement's Sid says what it serves; documents over IAM's 6,144-character\nlimit are split. See docs/iam-policy.md.\n\nExamples:\n  paysec iam-policy --for deploy --env prod-001\n  paysec iam-policy --for verify --env prod-001 --out-dir policies/\n  paysec iam-policy --for deploy --env dev --env prod --account 111122223333 --output json"
    )]
    IamPolicy {
        /// Whose policy: `deploy` (plan, up, down, deploy, the ledger) or
        /// `verify` (plan and verify: reads only)
        #[arg(long = "for", value_enum, value_name = "PRINCIPAL")]
        principal: PolicyFor,
        /// The account the environment lives in (else asked of STS)
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        /// Write each document to DIR/NAME.json, ready for `aws iam
        /// create-policy --policy-document file://...`
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
    /// Shell completion script
    #[command(
        after_help = "Examples:\n  paysec completions bash > /etc/bash_completion.d/paysec\n  paysec completions zsh > \"${fpath[1]}/_paysec\"\n  paysec completions fish > ~/.config/fish/completions/paysec.fish"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Whose policy `paysec iam-policy` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PolicyFor {
    /// plan, up, down, deploy, rollback, invoke and the ledger
    Deploy,
    /// plan and verify: reads only
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Create an S3 bucket for shared ledgers, hardened like the stack's
    /// own (versioning, SSE-KMS, public access blocked, bucket owner
    /// enforced, TLS-only policy); refused if it exists and is not
    #[command(
        after_help = "Examples:\n  paysec ledger init s3://team-paysec-state\n  paysec ledger init s3://team-paysec-state --kms-key arn:aws:kms:eu-west-1:111122223333:key/…   # a CI role in another account can use it\n  paysec ledger init s3://team-paysec-state --output json"
    )]
    Init {
        /// s3://BUCKET (a prefix is ignored: it is chosen by --ledger)
        url: String,
        /// A customer managed KMS key (ARN) for the bucket's default
        /// encryption, instead of the account's `aws/s3` key, which a role
        /// of another account (a CI runner's) cannot use
        #[arg(long, value_name = "ARN")]
        kms_key: Option<String>,
        /// Days the ledger's earlier versions are kept (its history, for
        /// `ledger history` and restores) before S3 expires them
        #[arg(long, value_name = "DAYS", default_value_t = 365, value_parser = clap::value_parser!(i32).range(1..=36500))]
        noncurrent_days: i32,
    },
    /// Move an environment's ledger to another place (a directory or
    /// s3://BUCKET[/PREFIX]) under both places' locks; the old one is
    /// renamed aside (a file) or removed (an object, kept in the bucket's
    /// versions)
    #[command(
        after_help = "Examples:\n  paysec ledger migrate --env prod-001 --to s3://team-paysec-state/paysec\n  paysec ledger migrate --env prod-001 --ledger s3://team-paysec-state/paysec --to .paysec"
    )]
    Migrate {
        /// Where the ledger goes
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// The versions of an environment's shared ledger: when (S3's time),
    /// and the writer each version names. The writer and a lock's holder
    /// are claims the writing run made about itself: the authenticated
    /// writer of each version is in CloudTrail's S3 data events for the
    /// bucket (PutObject), which record the caller AWS verified
    #[command(
        after_help = "Examples:\n  paysec ledger history --env prod-001 --ledger s3://team-paysec-state/paysec"
    )]
    History,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiagramKind {
    Network,
    DataFlow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiagramFormat {
    Svg,
    Dot,
    Mermaid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    #[command(flatten)]
    pub approve: Approve,
    /// Delete the audit logs too (the log buckets with every object
    /// version, the log groups), which `down` otherwise keeps for their
    /// retention (PCI DSS 10.5.1); also removes those an earlier `down`
    /// kept
    #[arg(long)]
    pub purge_audit_logs: bool,
    /// Turn the database's deletion protection off to delete it; without
    /// it, `down` of an environment whose database is protected
    /// (rds.deletion_protection, on by default) is refused before anything
    /// is deleted
    #[arg(long)]
    pub disable_deletion_protection: bool,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub approve: Approve,
    #[command(flatten)]
    pub refresh: Refresh,
    /// Apply exactly the plan saved by `plan --out FILE` (no question
    /// asked: it was reviewed); refused, exit 9, if anything changed since
    #[arg(long, value_name = "FILE", conflicts_with_all = ["no_refresh", "refresh"])]
    pub plan: Option<PathBuf>,
    /// Adopt resources found by name or tag that the ledger never recorded
    /// creating (after a lost ledger; review `paysec plan` first). Without
    /// it they are refused: paysec adopts only what it can prove it made
    #[arg(long)]
    pub adopt: bool,
}

/// How much `up` and `plan` read. By default every property of every
/// resource, so drift made out of band is found and repaired (as
/// `terraform apply` refreshes by default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Args)]
pub struct Refresh {
    /// Fast path: a resource unchanged since it last converged (same
    /// settings, same paysec) is only checked to exist; its properties are
    /// not re-read, so a change made outside paysec stays
    #[arg(long)]
    pub no_refresh: bool,
    /// Read every property of every resource and repair drift (the
    /// default; accepted for scripts written for earlier versions)
    #[arg(long, conflicts_with = "no_refresh")]
    pub refresh: bool,
}

impl Refresh {
    /// Whether unchanged resources get only their quick check.
    pub fn quick_checks_only(self) -> bool {
        self.no_refresh
    }
}

#[derive(Debug, Args)]
pub struct Approve {
    /// Do not ask for confirmation
    #[arg(long, visible_alias = "auto-approve")]
    pub yes: bool,
    /// Resource operations at once (default: config `concurrency`)
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn env_repeats_for_a_fleet() {
        for args in [
            &["paysec", "--env", "a", "--env", "b", "up", "--yes"][..],
            &["paysec", "up", "--env", "a", "--env", "b", "--yes"][..],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            assert_eq!(cli.global.env, ["a", "b"], "{args:?}");
        }
        // Split around the command, clap keeps only the later ones: the
        // command refuses that.
        let raw = ["paysec", "--env", "a", "up", "--env", "b"];
        let cli = Cli::try_parse_from(raw).unwrap();
        assert!(envs_split_around_the_command(
            &raw.map(String::from),
            &cli.global.env
        ));
    }

    #[test]
    fn global_options_may_follow_the_command() {
        let cli =
            Cli::try_parse_from(["paysec", "up", "--env", "dev-001", "--auto-approve"]).unwrap();
        assert_eq!(cli.global.env, ["dev-001"]);
        assert!(matches!(
            cli.command,
            Command::Up(UpArgs {
                approve: Approve { yes: true, .. },
                refresh: Refresh {
                    no_refresh: false,
                    refresh: false
                },
                plan: None,
                adopt: false,
            })
        ));
    }
}
