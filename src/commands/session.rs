//! A command's session with one environment, opened once from the
//! settings: the clients on the vetted endpoints, who the caller is, the
//! keys' administrators; and, from it, the stack's graph (as configured,
//! or whole for `down`), the schedulers that walk it, the survey that
//! reads it and the preflight before the first write. A command reads top
//! to bottom: open, preflight, graph, schedule.

use std::sync::{Arc, Mutex};

use paysec_aws::{Aws, CallerIdentity};
use paysec_core::scheduler::{PlannedChange, Scheduler};
use paysec_core::{Environment, Graph, Ledger, LogicalId, ResourceError};
use tokio::sync::watch;

use crate::exit::Failure;
use crate::printer::Printer;
use crate::settings::Settings;

use super::iam_policy;
use super::key_admins::{admins_tagged_on_keys, key_admins, recorded_key_admins};

/// A live session: the settings, clients, who we are, and where the stack
/// lives.
pub struct Session<'s> {
    pub settings: &'s Settings,
    pub aws: Aws,
    pub caller: CallerIdentity,
    /// The keys' administrators, resolved (see `paysec_stack::key_admins`).
    pub key_admins: Vec<String>,
    /// The engine version and zones: as configured until
    /// [`Session::preflight`] resolves them against the account.
    pub resolved: paysec_stack::Preflight,
    pub env: Arc<Environment>,
}

impl<'s> Session<'s> {
    /// Opens the session of a command that creates (`up`, `plan`): the
    /// keys' administrators must be resolved, or the run stops before any
    /// write.
    pub async fn open(settings: &'s Settings) -> Result<Session<'s>, Failure> {
        Self::open_as(
            settings,
            &settings.aws_for(&settings.env),
            &settings.env,
            true,
        )
        .await
    }

    /// Opens the session of a command that creates nothing (`down`,
    /// `verify`, `invoke`): an auditor without iam:GetRole can still run
    /// them. If the administrators cannot be resolved, the configured ones
    /// (or none) stand in, and a warning says what that does to the
    /// key-policy check.
    pub async fn open_reading(settings: &'s Settings) -> Result<Session<'s>, Failure> {
        Self::open_as(
            settings,
            &settings.aws_for(&settings.env),
            &settings.env,
            false,
        )
        .await
    }

    /// Opens `env`'s session with `aws` (its account and region): for a
    /// command that creates, the keys' administrators must resolve; for one
    /// that only reads, the configured ones (or none) stand in, with a
    /// warning.
    pub async fn open_as(
        settings: &'s Settings,
        aws: &paysec_aws::AwsSettings,
        env: &paysec_core::naming::EnvName,
        creating: bool,
    ) -> Result<Session<'s>, Failure> {
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
        Ok(Self::for_env(settings, aws, caller, key_admins, env))
    }

    /// The session of one environment, sharing the clients (and their
    /// per-service ceilings) with every other environment of the process.
    pub fn for_env(
        settings: &'s Settings,
        aws: Aws,
        caller: CallerIdentity,
        key_admins: Vec<String>,
        name: &paysec_core::naming::EnvName,
    ) -> Session<'s> {
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
        Session {
            settings,
            aws,
            caller,
            key_admins,
            resolved: paysec_stack::Preflight::unresolved(&settings.config),
            env: Arc::new(env),
        }
    }

    /// Keeps the keys' administrators the environment already has. With
    /// `kms.admin_principals` unset they are fixed by the first `up` (its
    /// caller's role) and recorded with the keys; every later run keeps
    /// them, whoever runs it, so a colleague's or a CI role's `plan` of an
    /// unchanged environment shows nothing to do and its `up` takes key
    /// administration from nobody. Configured ones always win.
    pub async fn keep_recorded_key_admins(&mut self, ledger: &Ledger) {
        let settings = self.settings;
        if settings.config.stack.kms.admin_principals.is_empty() {
            // The keys' own tag first: the ledger's writers cannot change
            // it, so an edited ledger cannot hand a key to someone else.
            let name = self.env.name.clone();
            let recorded = match admins_tagged_on_keys(&self.aws, ledger, &name).await {
                Some(tagged) => Some(tagged),
                None => recorded_key_admins(ledger),
            };
            if let Some(recorded) = recorded {
                if recorded != self.key_admins {
                    // What the desired state is fingerprinted from, too:
                    // the same for every caller.
                    let mut env = (*self.env).clone();
                    env.desired_state = paysec_stack::desired_state(
                        &settings.config,
                        &recorded,
                        &settings.code.sha256,
                    );
                    self.env = Arc::new(env);
                    self.key_admins = recorded;
                }
            }
        }
    }

    /// The stack the configuration builds (its components switched as
    /// set), with the function's releases as `ledger` records them.
    pub fn graph(&self, ledger: &Ledger) -> Result<Graph, Failure> {
        paysec_stack::blueprint(&self.inputs(ledger.releases(), &[]), &self.env.names)
            .map_err(invalid_blueprint)
    }

    /// The whole stack, every component on: what `down` removes (what the
    /// ledger records, whatever the switches say now).
    pub fn whole_graph(&self, ledger: &Ledger) -> Result<Graph, Failure> {
        let recorded: Vec<LogicalId> = ledger.records().keys().cloned().collect();
        paysec_stack::whole_blueprint(&self.inputs(ledger.releases(), &recorded), &self.env.names)
            .map_err(invalid_blueprint)
    }

    fn inputs<'a>(
        &'a self,
        releases: &'a paysec_core::releases::Releases,
        recorded: &'a [LogicalId],
    ) -> paysec_stack::Inputs<'a> {
        paysec_stack::Inputs {
            aws: &self.aws,
            config: &self.settings.config,
            key_admins: &self.key_admins,
            resolved: &self.resolved,
            code: &self.settings.code,
            releases,
            recorded,
        }
    }

    /// The resources a disabled component leaves out.
    pub fn left_out(&self) -> Result<Vec<paysec_stack::LeftOut>, Failure> {
        let none = paysec_core::releases::Releases::default();
        paysec_stack::left_out(&self.inputs(&none, &[]), &self.env.names)
            .map_err(|e| Failure::Internal(format!("the stack blueprint is invalid: {e}")))
    }

    /// The scheduler of a command that changes the stack (`up`, `down`).
    pub fn scheduler(
        &self,
        graph: Graph,
        ledger: Arc<Mutex<Ledger>>,
        reporter: Arc<dyn paysec_core::Reporter>,
        concurrency: Option<usize>,
        stop: watch::Receiver<bool>,
    ) -> Scheduler {
        Scheduler::new(
            Arc::new(graph),
            self.env.clone(),
            ledger,
            reporter,
            concurrency.unwrap_or(self.settings.config.run.concurrency),
            stop,
        )
    }

    /// The scheduler of a command that only reads (`plan`, `verify`).
    pub fn reading_scheduler(
        &self,
        graph: Graph,
        ledger: Arc<Mutex<Ledger>>,
        reporter: Arc<dyn paysec_core::Reporter>,
    ) -> Scheduler {
        Scheduler::for_reading(
            Arc::new(graph),
            self.env.clone(),
            ledger,
            reporter,
            self.settings.config.run.concurrency,
        )
    }

    /// Every resource the configuration builds, read live and compared
    /// with the desired state, nothing changed (`verify`, `diagram`): the
    /// survey `plan` makes, its planned actions the evidence.
    pub async fn survey(
        &self,
        ledger: Ledger,
        reporter: Arc<dyn paysec_core::Reporter>,
    ) -> Result<Vec<PlannedChange>, Failure> {
        let graph = self.graph(&ledger)?;
        self.reading_scheduler(graph, Arc::new(Mutex::new(ledger)), reporter)
            .plan_up()
            .await
            .map_err(read_failure)
    }

    /// Checks before the first write (`plan`, `up`): shown in text (JSON
    /// callers print `resolved.checks` themselves), a failed one refuses
    /// the run with its message (a read AWS refused for want of a
    /// permission, as `principal`'s policy names it: exit 4); what it
    /// resolved (engine version, zones) is kept for the blueprint.
    pub async fn preflight(
        &mut self,
        printer: &Printer,
        ledger: &Ledger,
        principal: crate::cli::PolicyFor,
    ) -> Result<(), Failure> {
        let creates = creates(self.settings, ledger);
        self.preflight_for(printer, creates, principal).await
    }

    /// [`Session::preflight`] for environments going into this session's
    /// account and region at once (a fleet's share there: the quotas must
    /// hold what they all create).
    pub async fn preflight_for(
        &mut self,
        printer: &Printer,
        creates: paysec_stack::preflight::Creates,
        principal: crate::cli::PolicyFor,
    ) -> Result<(), Failure> {
        let p = paysec_stack::preflight::run(
            &self.aws,
            &self.settings.config,
            &self.caller.arn,
            &self.key_admins,
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
        // A read refused for want of a permission is named as a refused
        // call of the run is (exit 4), whatever the check made of it.
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
        self.resolved = p;
        Ok(())
    }
}

fn invalid_blueprint(e: paysec_core::graph::GraphError) -> Failure {
    Failure::Internal(format!("the stack blueprint is invalid: {e}"))
}

/// What an environment's run creates that the account's quotas count:
/// what its ledger does not record yet.
pub fn creates(settings: &Settings, ledger: &Ledger) -> paysec_stack::preflight::Creates {
    paysec_stack::preflight::Creates::of(&settings.config, |id| {
        ledger
            .record(&LogicalId::new(id))
            .is_some_and(|r| r.physical_id.is_some())
    })
}

/// A read of the live state that failed: a refused call as the `verify`
/// policy names it (exit 4), else every error.
pub fn read_failure(errors: Vec<(LogicalId, ResourceError)>) -> Failure {
    if let Some(refused) =
        iam_policy::denied(errors.iter().map(|(_, e)| e), crate::cli::PolicyFor::Verify)
    {
        return refused;
    }
    let lines: Vec<String> = errors.iter().map(|(_, e)| e.to_string()).collect();
    Failure::Run(format!(
        "could not read the live state:\n  {}",
        lines.join("\n  ")
    ))
}
