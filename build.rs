//! Records the git commit paysec is built from (`PAYSEC_COMMIT`), which
//! `verify`'s reports quote so that a finding can be traced to the code
//! that produced it. Outside a git checkout (a source archive): "unknown".

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=PAYSEC_COMMIT={commit}");
    // A new commit or checkout moves HEAD or the branch it points to.
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
}
