use super::*;

fn props(version: &str, names: &[&str]) -> BTreeMap<String, String> {
    let mut p = BTreeMap::new();
    p.insert(KEY_FEATURE_VERSION.to_string(), version.to_string());
    p.insert(
        KEY_FEATURE_NAMES.to_string(),
        serde_json::to_string(names).unwrap_or_default(),
    );
    p.insert(KEY_MODEL_VARIANT.to_string(), "mlp".to_string());
    p
}

fn current() -> BTreeMap<String, String> {
    props(&FEATURE_VERSION.to_string(), FEATURE_NAMES)
}

#[test]
fn metadata_matching_the_feature_engine_is_accepted() {
    let info = validate_model_metadata(&current()).unwrap();
    assert_eq!(info.feature_version, FEATURE_VERSION);
    assert_eq!(info.feature_names.len(), FEATURE_NAMES.len());
    assert_eq!(info.variant.as_deref(), Some("mlp"));
}

#[test]
fn another_feature_version_is_refused_with_both_versions_in_the_message() {
    let err = validate_model_metadata(&props("999", FEATURE_NAMES)).unwrap_err();
    assert!(matches!(
        err,
        ModelError::FeatureVersionMismatch { model: 999, .. }
    ));
    assert_eq!(err.label(), "feature_version");
    assert!(err.to_string().contains("feature_version 999"), "{err}");
}

#[test]
fn a_reordered_feature_list_is_refused_at_the_first_difference() {
    let mut names: Vec<&str> = FEATURE_NAMES.to_vec();
    names.swap(3, 4);
    let err = validate_model_metadata(&props(&FEATURE_VERSION.to_string(), &names)).unwrap_err();
    match &err {
        ModelError::FeatureNamesMismatch {
            index,
            model,
            expected,
            ..
        } => {
            assert_eq!(*index, 3);
            assert_eq!(model.as_deref(), Some(FEATURE_NAMES[4]));
            assert_eq!(expected.as_deref(), Some(FEATURE_NAMES[3]));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(err.label(), "feature_names");
}

#[test]
fn a_shorter_feature_list_is_refused_past_its_end() {
    let names = &FEATURE_NAMES[..FEATURE_NAMES.len() - 1];
    let err = validate_model_metadata(&props(&FEATURE_VERSION.to_string(), names)).unwrap_err();
    assert!(matches!(
        err,
        ModelError::FeatureNamesMismatch { model: None, model_len, expected_len, .. }
            if model_len + 1 == expected_len
    ));
}

#[test]
fn missing_or_malformed_properties_are_named() {
    let mut p = current();
    p.remove(KEY_FEATURE_NAMES);
    assert!(matches!(
        validate_model_metadata(&p),
        Err(ModelError::MissingMetadata { key: "feature_names" })
    ));
    let mut p = current();
    p.insert(KEY_FEATURE_NAMES.into(), "mid_price,spread_bps".into());
    assert!(matches!(
        validate_model_metadata(&p),
        Err(ModelError::BadMetadata {
            key: "feature_names",
            ..
        })
    ));
    let mut p = current();
    p.insert(KEY_FEATURE_VERSION.into(), "v1".into());
    let err = validate_model_metadata(&p).unwrap_err();
    assert_eq!(err.label(), "metadata");
}

#[test]
fn validation_against_an_explicit_list_uses_that_list() {
    let p = props("7", &["a", "b"]);
    assert!(validate_metadata_against(&p, 7, &["a", "b"]).is_ok());
    assert!(validate_metadata_against(&p, 7, &["a", "c"]).is_err());
}
