use std::path::Path;

use motorbase_core::Backend;

pub async fn upsert(dir: &Path, email: &str, password: &str) -> Result<(), String> {
    let backend = Backend::open(dir).await.map_err(|e| e.to_string())?;
    backend
        .upsert_superuser(email, password)
        .await
        .map_err(describe)?;
    println!("Successfully saved superuser {email:?}!");
    Ok(())
}

pub async fn delete(dir: &Path, email: &str) -> Result<(), String> {
    let backend = Backend::open(dir).await.map_err(|e| e.to_string())?;
    backend.delete_superuser(email).await.map_err(describe)?;
    println!("Successfully deleted superuser {email:?}!");
    Ok(())
}

/// Spells out field errors so a CLI user sees which value was refused.
fn describe(e: motorbase_core::CoreError) -> String {
    match e {
        motorbase_core::CoreError::Validation { message, data } => {
            format!(
                "{message} {}",
                serde_json::to_string(&data).unwrap_or_default()
            )
        }
        other => other.to_string(),
    }
}
