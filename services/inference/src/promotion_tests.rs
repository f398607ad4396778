//! File moves of promotion and rollback, on copies of the test fixtures.
#![allow(clippy::unwrap_used)]

use super::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

#[test]
fn promotion_keeps_the_champion_and_moves_the_challenger_in_and_rollbacks_swap() {
    let dir = tempfile::tempdir().unwrap();
    let (model, previous, challenger) = (
        dir.path().join("model.onnx"),
        dir.path().join("previous.onnx"),
        dir.path().join("challenger.onnx"),
    );
    std::fs::copy(fixture("ml.onnx"), &model).unwrap();
    std::fs::copy(fixture("baseline.onnx"), &challenger).unwrap();
    promote_files(&model, &previous, &challenger).unwrap();
    assert_eq!(bytes(&model), bytes(&fixture("baseline.onnx")));
    assert_eq!(bytes(&previous), bytes(&fixture("ml.onnx")));
    assert!(!challenger.exists());
    let back = rollback_files(&model, &previous).unwrap();
    assert!(back.version.starts_with("mlp-"), "{}", back.version);
    assert_eq!(bytes(&model), bytes(&fixture("ml.onnx")));
    assert_eq!(bytes(&previous), bytes(&fixture("baseline.onnx")));
    // A second rollback undoes the first.
    let again = rollback_files(&model, &previous).unwrap();
    assert!(again.version.starts_with("baseline-"), "{}", again.version);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "no temporary file left behind: {names:?}");
}

#[test]
fn a_rollback_without_or_with_a_broken_previous_champion_moves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (model, previous) = (dir.path().join("model.onnx"), dir.path().join("previous.onnx"));
    std::fs::copy(fixture("ml.onnx"), &model).unwrap();
    let missing = rollback_files(&model, &previous).unwrap_err();
    assert!(matches!(missing, SwitchError::NoPrevious(_)) && missing.is_conflict());
    std::fs::copy(fixture("wrong_names.onnx"), &previous).unwrap();
    let refused = rollback_files(&model, &previous).unwrap_err();
    assert!(
        matches!(refused, SwitchError::PreviousInvalid { .. }),
        "{refused}"
    );
    assert_eq!(
        bytes(&model),
        bytes(&fixture("ml.onnx")),
        "the champion file is untouched"
    );
    assert_eq!(bytes(&previous), bytes(&fixture("wrong_names.onnx")));
}

#[test]
fn a_promotion_into_a_missing_directory_fails_as_a_service_error() {
    let dir = tempfile::tempdir().unwrap();
    let challenger = dir.path().join("challenger.onnx");
    std::fs::copy(fixture("baseline.onnx"), &challenger).unwrap();
    let gone = dir.path().join("gone");
    let e = promote_files(&gone.join("model.onnx"), &gone.join("previous.onnx"), &challenger).unwrap_err();
    assert!(matches!(e, SwitchError::Files(_)) && !e.is_conflict(), "{e}");
    assert!(challenger.exists(), "the challenger stays when the move fails");
}
