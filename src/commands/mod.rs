//! One module per command; this one dispatches, and holds what every
//! command shares beside its session with the environment (`session`):
//! confirmation, interrupts, the clock.

mod apply;
mod diagram;
mod graph;
pub mod iam_policy;
mod invoke;
mod key_admins;
mod ledger;
mod output;
mod plan;
mod release;
mod removal;
mod saved_plan;
mod session;
mod status;
mod verify;

use std::io::BufRead;

use clap::CommandFactory;
use tokio::sync::watch;

use crate::cli::{Cli, Command};
use crate::exit::{self, Failure};
use crate::printer::Printer;
use crate::settings;

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
