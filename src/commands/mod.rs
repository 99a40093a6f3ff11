//! One module per command; this one dispatches and holds what they share:
//! connecting to AWS, building the stack, confirmation and interrupts.

mod apply;
mod diagram;
mod graph;
pub mod iam_policy;
mod invoke;
mod ledger;
mod output;
mod plan;
mod release;
mod saved_plan;
mod status;
mod verify;

use std::io::BufRead;
use std::sync::{Arc, Mutex};

use clap::CommandFactory;
use paysec_aws::{Aws, CallerIdentity};
use paysec_core::scheduler::Scheduler;
use paysec_core::{Environment, Graph, Ledger};
use tokio::sync::watch;

use crate::cli::{Cli, Command};
use crate::exit::{self, Failure};
use crate::printer::Printer;
use crate::settings::{self, Settings};

pub async fn run(cli: Cli, printer: &Printer) -> Result<u8, Failure> {
    if let Command::Completions { shell } = cli.command {
        let mut out = std::io::stdout().lock();
        clap_complete::generate(shell, &mut Cli::command(), "paysec", &mut out);
        return Ok(exit::OK);
    }
    // The catalog needs no environment and no AWS.
    if let Command::Verify { list: true, .. } = cli.command {
        return Ok(verify::list(printer));
    }
    let raw: Vec<String> = std::env::args().collect();
    if crate::cli::envs_split_around_the_command(&raw, &cli.global.env) {
        return Err(Failure::Usage(
            "give every --env on the same side of the command (all before it or all after it)"
                .into(),
        ));
    }
    // The state bucket is named by the command itself, not by --ledger,
    // and serves every environment.
    if let Command::Ledger(crate::cli::LedgerCommand::Init {
        url,
        kms_key,
        noncurrent_days,
    }) = &cli.command
    {
        let settings = settings::resolve_without_env(&cli.global)?;
        let options = paysec_aws::ledger_s3::InitOptions {
            kms_key: kms_key.clone(),
            noncurrent_days: *noncurrent_days,
        };
        return ledger::init(&settings, printer, url, &options).await;
    }
    let mut settings = settings::resolve(&cli.global)?;
    // The commands that ship or compare the team's code build its package
    // first: a bad one is refused before any AWS call.
    if matches!(
        cli.command,
        Command::Up(_)
            | Command::Plan { destroy: false, .. }
            | Command::Verify { .. }
            | Command::Deploy { .. }
            | Command::Rollback { .. }
    ) {
        settings.load_code()?;
    }
    settings::resolve_ledger(&mut settings).await?;
    if let Command::IamPolicy {
        principal,
        account,
        out_dir,
    } = &cli.command
    {
        return iam_policy::run(
            &settings,
            printer,
            *principal,
            account.as_deref(),
            out_dir.as_deref(),
        )
        .await;
    }
    if !settings.fleet.is_empty() {
        return match cli.command {
            Command::Up(a) if a.plan.is_some() => Err(Failure::Usage(
                "--plan applies one environment's saved plan; a fleet run takes no plan".into(),
            )),
            Command::Up(a) => apply::fleet(&settings, printer, apply::Verb::Up { quick: a.refresh.quick_checks_only(), adopt: a.adopt }, a.approve.yes, a.approve.concurrency).await,
            Command::Down(a) => apply::fleet(&settings, printer, apply::Verb::Down { purge: a.purge_audit_logs, unprotect: a.disable_deletion_protection }, a.approve.yes, a.approve.concurrency).await,
            Command::Plan { out: Some(_), .. } => Err(Failure::Usage(
                "--out saves one environment's plan; plan a fleet without it, or each environment with its own --out".into(),
            )),
            Command::Plan { destroy, refresh, detailed_exitcode, out } => plan::fleet(&settings, printer, plan::Options { destroy, quick: refresh.quick_checks_only(), detailed_exitcode, out }).await,
            _ => Err(Failure::Usage(
                "several --env are for `plan`, `up` and `down` (a fleet); other commands take one environment"
                    .into(),
            )),
        };
    }
    match cli.command {
        Command::Up(a) => {
            apply::up(
                &settings,
                printer,
                &a.approve,
                a.refresh.quick_checks_only(),
                a.adopt,
                a.plan.as_deref(),
            )
            .await
        }
        Command::Down(a) => apply::down(&settings, printer, &a).await,
        Command::Plan {
            destroy,
            refresh,
            detailed_exitcode,
            out,
        } => {
            plan::run(
                &settings,
                printer,
                plan::Options {
                    destroy,
                    quick: refresh.quick_checks_only(),
                    detailed_exitcode,
                    out,
                },
            )
            .await
        }
        Command::Status => status::run(&settings, printer),
        Command::Output { name, raw } => output::run(&settings, printer, name.as_deref(), raw),
        Command::Verify {
            report,
            allow_unknown,
            ..
        } => verify::run(&settings, printer, report, allow_unknown).await,
        Command::Invoke {
            payload,
            payload_file,
            api: true,
            path,
        } => invoke::api(&settings, printer, payload, payload_file, &path).await,
        Command::Invoke {
            payload,
            payload_file,
            ..
        } => invoke::run(&settings, printer, payload, payload_file).await,
        Command::Graph { format } => graph::run(&settings, printer, format).await,
        Command::Diagram { kind, format, out } => {
            diagram::run(&settings, printer, kind, format, out).await
        }
        Command::Deploy { yes } => release::deploy(&settings, printer, yes).await,
        Command::Rollback { to, yes } => {
            release::rollback(&settings, printer, to.as_deref(), yes).await
        }
        Command::Releases => release::list(&settings, printer),
        Command::ForceUnlock { lock_id, yes } => {
            ledger::force_unlock(&settings, printer, &lock_id, yes)
        }
        Command::Ledger(crate::cli::LedgerCommand::Migrate { to }) => {
            ledger::migrate(&settings, printer, &to).await
        }
        Command::Ledger(crate::cli::LedgerCommand::History) => ledger::history(&settings, printer),
        Command::Ledger(crate::cli::LedgerCommand::Init { .. }) => Ok(exit::OK),
        Command::Completions { .. } | Command::IamPolicy { .. } => Ok(exit::OK),
    }
}

/// A live connection: clients, who we are, and where the stack lives.
pub struct Connected {
    pub aws: Aws,
    pub caller: CallerIdentity,
    /// The keys' administrators, resolved (see `paysec_stack::key_admins`).
    pub key_admins: Vec<String>,
    /// The engine version and zones: as configured until [`preflight`]
    /// resolves them against the account.
    pub resolved: paysec_stack::Preflight,
    pub env: Arc<Environment>,
}

/// Connects for a command that creates (`up`, `plan`): the keys'
/// administrators must be resolved, or the run stops before any write.
pub async fn connect(settings: &Settings) -> Result<Connected, Failure> {
    connect_as(
        settings,
        &settings.aws_for(&settings.env),
        &settings.env,
        true,
    )
    .await
}

/// Connects `env` with `aws` (its account and region): for a command that
/// creates, the keys' administrators must resolve; for one that only
/// reads, the configured ones (or none) stand in, with a warning.
pub async fn connect_as(
    settings: &Settings,
    aws: &paysec_aws::AwsSettings,
    env: &paysec_core::naming::EnvName,
    creating: bool,
) -> Result<Connected, Failure> {
    let aws = Aws::connect(aws).await?;
    let caller = aws.identity().await?;
    let key_admins = match key_admins(settings, &aws, &caller).await {
        Ok(admins) => admins,
        Err(e) if !creating => {
            tracing::warn!(
                "{e}; the key policies are compared without the caller's role as administrator"
            );
            settings.config.stack.kms.admin_principals.clone()
        }
        Err(e) => return Err(e),
    };
    Ok(for_env(settings, aws, caller, key_admins, env))
}

/// Connects for a command that creates nothing (`down`, `verify`,
/// `invoke`): an auditor without iam:GetRole can still run them. If the
/// administrators cannot be resolved, the configured ones (or none) stand
/// in, and a warning says what that does to the key-policy check.
pub async fn connect_reading(settings: &Settings) -> Result<Connected, Failure> {
    connect_as(
        settings,
        &settings.aws_for(&settings.env),
        &settings.env,
        false,
    )
    .await
}

/// The key administrators the ledger recorded for the environment's keys
/// (the same for every key: one setting builds them all).
pub(crate) fn recorded_key_admins(ledger: &Ledger) -> Option<Vec<String>> {
    ledger
        .records()
        .values()
        .filter(|r| r.kind == "kms_key")
        .find_map(|r| r.attrs.get(paysec_core::Attr::KeyAdministrators.as_str()))
        .map(|joined| {
            joined
                .split(',')
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect()
        })
}

/// The administrators this environment's keys carry in their
/// `paysec:key-admins` tag (set with them by `up`), read from the first key
/// the ledger names that carries this environment's and its logical id's
/// tags; `None` when no key carries one (made before the tag, or admins a
/// tag cannot hold).
pub(crate) async fn admins_tagged_on_keys(
    aws: &paysec_aws::Aws,
    ledger: &Ledger,
    env: &paysec_core::naming::EnvName,
) -> Option<Vec<String>> {
    use paysec_core::tags::{key_admins_of, ENVIRONMENT, KEY_ADMINS, LOGICAL_ID};
    for (id, record) in ledger.records().iter().filter(|(_, r)| r.kind == "kms_key") {
        let Some(key) = record
            .attrs
            .get(paysec_core::Attr::KeyId.as_str())
            .or(record.physical_id.as_ref())
        else {
            continue;
        };
        // IAM: kms:ListResourceTags.
        let Ok(out) = aws.kms.list_resource_tags().key_id(key).send().await else {
            continue;
        };
        let tag = |name: &str| {
            out.tags()
                .iter()
                .find(|t| t.tag_key() == name)
                .map(|t| t.tag_value().to_owned())
        };
        if tag(ENVIRONMENT).as_deref() == Some(env.as_str())
            && tag(LOGICAL_ID).as_deref() == Some(id.as_str())
        {
            if let Some(admins) = tag(KEY_ADMINS) {
                return Some(key_admins_of(&admins));
            }
        }
    }
    None
}

/// The keys' administrators an environment keeps. With
/// `kms.admin_principals` unset they are fixed by the first `up` (its
/// caller's role) and recorded with the keys; every later run keeps them,
/// whoever runs it, so a colleague's or a CI role's `plan` of an
/// unchanged environment shows nothing to do and its `up` takes key
/// administration from nobody. Configured ones always win.
pub async fn keep_recorded_key_admins(settings: &Settings, ledger: &Ledger, c: &mut Connected) {
    if settings.config.stack.kms.admin_principals.is_empty() {
        // The keys' own tag first: the ledger's writers cannot change it,
        // so an edited ledger cannot hand a key to someone else.
        let name = c.env.name.clone();
        let recorded = match admins_tagged_on_keys(&c.aws, ledger, &name).await {
            Some(tagged) => Some(tagged),
            None => recorded_key_admins(ledger),
        };
        if let Some(recorded) = recorded {
            if recorded != c.key_admins {
                // What the desired state is fingerprinted from, too: the
                // same for every caller.
                let mut env = (*c.env).clone();
                env.desired_state =
                    paysec_stack::desired_state(&settings.config, &recorded, &settings.code.sha256);
                c.env = Arc::new(env);
                c.key_admins = recorded;
            }
        }
    }
}

/// The configured key administrators, else the caller's principal, asked
/// of IAM only when needed (an assumed role's ARN has a path the session
/// ARN does not show).
pub async fn key_admins(
    settings: &Settings,
    aws: &Aws,
    caller: &CallerIdentity,
) -> Result<Vec<String>, Failure> {
    let principal = if settings.config.stack.kms.admin_principals.is_empty() {
        aws.caller_principal(caller).await?
    } else {
        None
    };
    Ok(paysec_stack::key_admins(
        &settings.config,
        principal.as_deref(),
    ))
}

/// The connection of one environment, sharing the clients (and their
/// per-service ceilings) with every other environment of the process.
pub fn for_env(
    settings: &Settings,
    aws: Aws,
    caller: CallerIdentity,
    key_admins: Vec<String>,
    name: &paysec_core::naming::EnvName,
) -> Connected {
    let mut env = Environment::new(
        name.clone(),
        &caller.account,
        aws.region(),
        &caller.partition,
    );
    env.extra_tags = settings
        .config
        .stack
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    env.desired_state =
        paysec_stack::desired_state(&settings.config, &key_admins, &settings.code.sha256);
    tracing::info!(env = %name, account = %caller.account, region = %aws.region(), caller = %caller.arn, "connected");
    Connected {
        aws,
        caller,
        key_admins,
        resolved: paysec_stack::Preflight::unresolved(&settings.config),
        env: Arc::new(env),
    }
}

/// The stack the configuration builds (its components switched as set),
/// with the function's releases as `ledger` records them.
pub fn graph(settings: &Settings, c: &Connected, ledger: &Ledger) -> Result<Graph, Failure> {
    paysec_stack::blueprint(&inputs(settings, c, ledger.releases(), &[]), &c.env.names)
        .map_err(invalid_blueprint)
}

/// What `up` removes after converging: what the ledger records that the
/// configuration no longer builds (a component switched off, an endpoint
/// no longer named), dependents first, as Terraform destroys what left
/// its configuration. The database is never deleted by `up`: it stays,
/// with what it stands on, and the second list names them (said by the
/// caller; `paysec down` removes them).
pub struct Removal {
    pub scheduler: Scheduler,
    pub ids: Vec<paysec_core::LogicalId>,
    pub held: Vec<paysec_core::LogicalId>,
}

impl Removal {
    pub fn of(
        configured: &Graph,
        settings: &Settings,
        c: &Connected,
        ledger: &Arc<Mutex<Ledger>>,
        scheduler: impl FnOnce(Graph) -> Scheduler,
    ) -> Result<Removal, Failure> {
        let whole = {
            let l = ledger.lock().unwrap_or_else(|p| p.into_inner());
            whole_graph(settings, c, &l)?
        };
        let gone: Vec<paysec_core::LogicalId> = ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .records()
            .keys()
            .filter(|id| configured.position(id).is_none() && whole.position(id).is_some())
            .filter(|id| !paysec_stack::components::serving(id.as_str()).is_empty())
            .cloned()
            .collect();
        // The database and, among what goes, everything it depends on.
        let mut held = Vec::new();
        let db = paysec_core::LogicalId::new(paysec_stack::ids::DB);
        let mut next = if gone.contains(&db) {
            vec![db]
        } else {
            Vec::new()
        };
        while let Some(id) = next.pop() {
            if held.contains(&id) {
                continue;
            }
            if let Some(i) = whole.position(&id) {
                next.extend(
                    whole
                        .dependencies(i)
                        .iter()
                        .map(|&(j, _)| whole.node(j).id().clone())
                        .filter(|d| gone.contains(d)),
                );
            }
            held.push(id);
        }
        let ids = gone.into_iter().filter(|id| !held.contains(id)).collect();
        Ok(Removal {
            scheduler: scheduler(whole),
            ids,
            held,
        })
    }

    /// What it deletes, as plan lines.
    pub fn plan(&self) -> Vec<paysec_core::scheduler::PlannedChange> {
        self.scheduler.plan_remove(&self.ids)
    }

    /// The warning for what stays, if anything does.
    pub fn held_note(&self) -> Option<String> {
        (!self.held.is_empty()).then(|| {
            let held: Vec<String> = self.held.iter().map(ToString::to_string).collect();
            format!(
                "rds.enabled = false leaves the database in place: `up` never deletes a database (its data), nor what it stands on ({}); `paysec down` removes them with the environment (a final snapshot first, as configured), or switch rds on again",
                held.join(", ")
            )
        })
    }
}

/// The whole stack, every component on: what `down` removes (what the
/// ledger records, whatever the switches say now).
pub fn whole_graph(settings: &Settings, c: &Connected, ledger: &Ledger) -> Result<Graph, Failure> {
    let recorded: Vec<paysec_core::LogicalId> = ledger.records().keys().cloned().collect();
    paysec_stack::whole_blueprint(
        &inputs(settings, c, ledger.releases(), &recorded),
        &c.env.names,
    )
    .map_err(invalid_blueprint)
}

fn invalid_blueprint(e: paysec_core::graph::GraphError) -> Failure {
    Failure::Internal(format!("the stack blueprint is invalid: {e}"))
}

fn inputs<'a>(
    settings: &'a Settings,
    c: &'a Connected,
    releases: &'a paysec_core::releases::Releases,
    recorded: &'a [paysec_core::LogicalId],
) -> paysec_stack::Inputs<'a> {
    paysec_stack::Inputs {
        aws: &c.aws,
        config: &settings.config,
        key_admins: &c.key_admins,
        resolved: &c.resolved,
        code: &settings.code,
        releases,
        recorded,
    }
}

/// The resources a disabled component leaves out.
pub fn left_out(settings: &Settings, c: &Connected) -> Result<Vec<paysec_stack::LeftOut>, Failure> {
    let none = paysec_core::releases::Releases::default();
    paysec_stack::left_out(&inputs(settings, c, &none, &[]), &c.env.names)
        .map_err(|e| Failure::Internal(format!("the stack blueprint is invalid: {e}")))
}

pub fn scheduler(
    settings: &Settings,
    c: &Connected,
    graph: Graph,
    ledger: Arc<Mutex<Ledger>>,
    reporter: Arc<dyn paysec_core::Reporter>,
    concurrency: Option<usize>,
    stop: watch::Receiver<bool>,
) -> Scheduler {
    Scheduler::new(
        Arc::new(graph),
        c.env.clone(),
        ledger,
        reporter,
        concurrency.unwrap_or(settings.config.run.concurrency),
        stop,
    )
}

/// The scheduler of a command that only reads (`plan`, `verify`).
pub fn reading_scheduler(
    settings: &Settings,
    c: &Connected,
    graph: Graph,
    ledger: Arc<Mutex<Ledger>>,
    reporter: Arc<dyn paysec_core::Reporter>,
) -> Scheduler {
    Scheduler::for_reading(
        Arc::new(graph),
        c.env.clone(),
        ledger,
        reporter,
        settings.config.run.concurrency,
    )
}

/// Every resource the configuration builds, read live and compared with
/// the desired state, nothing changed (`verify`, `diagram`): the survey
/// `plan` makes, its planned actions the evidence.
pub async fn survey(
    settings: &Settings,
    c: &Connected,
    ledger: Ledger,
    reporter: Arc<dyn paysec_core::Reporter>,
) -> Result<Vec<paysec_core::scheduler::PlannedChange>, Failure> {
    let graph = graph(settings, c, &ledger)?;
    reading_scheduler(settings, c, graph, Arc::new(Mutex::new(ledger)), reporter)
        .plan_up()
        .await
        .map_err(plan::read_failure)
}

/// Checks before the first write (`plan`, `up`): shown in text (JSON
/// callers print `c.resolved.checks` themselves), a failed one refuses the
/// run with its message (a read AWS refused for want of a permission, as
/// `principal`'s policy names it: exit 4); what it resolved (engine version, zones) is kept
/// for the blueprint.
pub async fn preflight(
    settings: &Settings,
    printer: &Printer,
    c: &mut Connected,
    ledger: &Ledger,
    principal: crate::cli::PolicyFor,
) -> Result<(), Failure> {
    preflight_for(settings, printer, c, creates(settings, ledger), principal).await
}

/// What an environment's run creates that the account's quotas count:
/// what its ledger does not record yet.
pub fn creates(settings: &Settings, ledger: &Ledger) -> paysec_stack::preflight::Creates {
    paysec_stack::preflight::Creates::of(&settings.config, |id| {
        ledger
            .record(&paysec_core::LogicalId::new(id))
            .is_some_and(|r| r.physical_id.is_some())
    })
}

/// [`preflight`] for environments going into `c`'s account and region at
/// once (a fleet's share there: the quotas must hold what they all
/// create).
pub async fn preflight_for(
    settings: &Settings,
    printer: &Printer,
    c: &mut Connected,
    creates: paysec_stack::preflight::Creates,
    principal: crate::cli::PolicyFor,
) -> Result<(), Failure> {
    let p = paysec_stack::preflight::run(
        &c.aws,
        &settings.config,
        &c.caller.arn,
        &c.key_admins,
        creates,
    )
    .await;
    if !printer.is_json() {
        printer.note("Preflight:");
        for check in &p.checks {
            printer.note(format!(
                "  {:<11} {:<20} {}",
                check.verdict.as_str(),
                check.name,
                check.detail
            ));
        }
    }
    // A read refused for want of a permission is named as a refused call
    // of the run is (exit 4), whatever the check made of it.
    if let Some(refused) = iam_policy::preflight_denied(&p, principal) {
        return Err(refused);
    }
    let failed: Vec<String> = p
        .failures()
        .map(|f| format!("{}: {}", f.name, f.detail))
        .collect();
    if !failed.is_empty() {
        return Err(Failure::Preflight(format!(
            "preflight failed before any change: {}",
            failed.join("; ")
        )));
    }
    c.resolved = p;
    Ok(())
}

/// `up`/`down` need `--yes` or a person at a terminal; refused at once,
/// before any AWS call, when neither is there.
pub fn require_terminal_or_yes(printer: &Printer, yes: bool, command: &str) -> Result<(), Failure> {
    if yes || printer.stdin_is_terminal() {
        return Ok(());
    }
    Err(Failure::Confirmation(format!(
        "`paysec {command}` needs confirmation and there is no terminal to ask; pass --yes (or --auto-approve) to proceed without asking"
    )))
}

/// Asks on the terminal; only `yes` proceeds, as with Terraform.
pub fn confirm(printer: &Printer, question: &str) -> Result<(), Failure> {
    printer.note(format!("\n{question}\n  Only 'yes' will be accepted.\n"));
    let _ = std::io::Write::flush(&mut std::io::stderr());
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::Internal(format!("cannot read the answer: {e}")))?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(Failure::Confirmation(
            "cancelled; nothing was changed".into(),
        ))
    }
}

/// First Ctrl-C (or SIGTERM): stop launching, let in-flight calls finish,
/// save. Second: exit at once; the ledger is valid because every write is
/// atomic.
pub fn stop_on_signal(printer_json: bool) -> watch::Receiver<bool> {
    use tokio::signal::unix::{signal, SignalKind};
    let (tx, rx) = watch::channel(false);
    // Registered here, synchronously: from this point on a Ctrl-C is ours,
    // not the default "die at once".
    let mut int = signal(SignalKind::interrupt()).ok();
    let mut term = signal(SignalKind::terminate()).ok();
    tokio::spawn(async move {
        let first = async {
            match (int.as_mut(), term.as_mut()) {
                (Some(i), Some(t)) => tokio::select! {
                    _ = i.recv() => {}
                    _ = t.recv() => {}
                },
                (Some(i), None) => {
                    i.recv().await;
                }
                (None, Some(t)) => {
                    t.recv().await;
                }
                (None, None) => std::future::pending::<()>().await,
            }
        };
        first.await;
        let _ = tx.send(true);
        if !printer_json {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                b"\ninterrupt: finishing in-flight operations and saving the ledger; press Ctrl-C again to exit now\n",
            );
        }
        if let Some(i) = int.as_mut() {
            i.recv().await;
        } else {
            std::future::pending::<()>().await;
        }
        std::process::exit(i32::from(exit::INTERRUPTED));
    });
    rx
}

/// Now, as the reports and diagrams write it (RFC 3339, UTC).
fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
