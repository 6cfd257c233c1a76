//! The hermetic codex configuration.

use codexkit_testkit::{HermeticCodex, MockModel, MockResponse, Scenario};
use pretty_assertions::assert_eq;

#[tokio::test]
async fn overrides_env_and_home() {
    let mock = MockModel::start(Scenario::new().response(MockResponse::message("x")))
        .await
        .unwrap();
    let codex = HermeticCodex::new(&mock).unwrap();
    let url = mock.base_url();
    assert_eq!(
        codex.config_overrides(),
        vec![
            ("model_provider".to_owned(), "\"codexkit-mock\"".to_owned()),
            (
                "model_providers.codexkit-mock".to_owned(),
                format!(
                    "{{name=\"codexkit mock\", base_url=\"{url}\", wire_api=\"responses\", env_key=\"CODEXKIT_MOCK_API_KEY\"}}"
                )
            ),
        ]
    );
    assert_eq!(
        codex.config_args(),
        vec![
            "-c".to_owned(),
            "model_provider=\"codexkit-mock\"".to_owned(),
            "-c".to_owned(),
            format!(
                "model_providers.codexkit-mock={{name=\"codexkit mock\", base_url=\"{url}\", wire_api=\"responses\", env_key=\"CODEXKIT_MOCK_API_KEY\"}}"
            ),
        ]
    );
    assert_eq!(codex.model(), "gpt-5.5");
    let home = codex.codex_home().to_path_buf();
    assert!(home.is_dir());
    assert_eq!(std::fs::read_dir(&home).unwrap().count(), 0);
    assert_eq!(
        codex.env(),
        vec![
            ("CODEX_HOME".to_owned(), home.to_string_lossy().into_owned()),
            (
                "CODEXKIT_MOCK_API_KEY".to_owned(),
                "sk-codexkit-mock".to_owned()
            ),
        ]
    );
    let other = HermeticCodex::new(&mock).unwrap();
    assert_ne!(other.codex_home(), home.as_path());
    drop(codex);
    assert!(!home.exists(), "CODEX_HOME must be removed on drop");
}

#[tokio::test]
async fn retries_from_scenario_and_builder() {
    let mock = MockModel::start(Scenario::new().retries(0)).await.unwrap();
    let codex = HermeticCodex::new(&mock).unwrap();
    assert!(
        codex.config_overrides()[1]
            .1
            .ends_with(", request_max_retries=0, stream_max_retries=0}"),
        "{:?}",
        codex.config_overrides()
    );
    let codex = HermeticCodex::with_base_url("http://127.0.0.1:9/v1")
        .unwrap()
        .retries(3);
    assert_eq!(
        codex.config_overrides()[1].1,
        "{name=\"codexkit mock\", base_url=\"http://127.0.0.1:9/v1\", wire_api=\"responses\", env_key=\"CODEXKIT_MOCK_API_KEY\", request_max_retries=3, stream_max_retries=3}"
    );
    let plain = HermeticCodex::with_base_url("http://127.0.0.1:9/v1").unwrap();
    assert!(!plain.config_overrides()[1].1.contains("retries"));
}

#[test]
fn base_url_is_escaped_as_toml() {
    let codex = HermeticCodex::with_base_url("http://h/\"v1\\").unwrap();
    assert!(
        codex.config_overrides()[1]
            .1
            .contains(r#"base_url="http://h/\"v1\\""#),
        "{:?}",
        codex.config_overrides()
    );
}
