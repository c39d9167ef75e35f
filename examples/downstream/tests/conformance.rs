//! The project's conformance suite on the application's own backend.

use vectorstore::Config;
use vectorstore_downstream_example::NAME;

fn base() -> Config {
    Config::new(NAME).with_path(std::env::temp_dir().join("decnet-downstream-example").join("vectors.sqlite"))
}

mod counted_sqlite {
    vectorstore_conformance::conformance_tests!(vectorstore_conformance::ConfigFactory::new(super::base()));
}

#[test]
fn the_environment_selects_the_applications_backend() {
    let dir = std::env::temp_dir().join(format!("decnet-downstream-main-{}", std::process::id()));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_vectorstore-downstream-example"))
        .env("DECNET_VECTORSTORE_TYPE", NAME)
        .env("DECNET_VECTORSTORE_PATH", dir.join("vectors.sqlite"))
        .output()
        .expect("the example runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let health: serde_json::Value = serde_json::from_slice(&output.stdout).expect("health as JSON");
    assert_eq!(health["backend"], NAME);
    assert_eq!(health["detail"]["writes"], "1");
    assert_eq!(health["vectors"], 1);
}
