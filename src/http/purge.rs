//! Cloudflare's purge API, as pure requests: which calls purge a deleted file's public URLs
//! from every location (`POST {api}/zones/{zone}/purge_cache`, `{"files": [...]}` at most
//! [`URLS_PER_CALL`] at a time, `Authorization: Bearer <token>`), and when a failed call is
//! tried again. The worker layer sends them after the answer.

/// Most URLs one purge call names (the API's limit on every plan).
pub const URLS_PER_CALL: usize = 30;
/// Attempts per call, the first included.
pub const ATTEMPTS: u32 = 4;

/// One call to the purge API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeCall {
    pub url: String,
    /// `Authorization`'s value.
    pub authorization: String,
    /// JSON.
    pub body: String,
}

/// The calls that purge `urls` from zone `zone_id` through the API at `api`.
pub fn purge_calls(api: &str, zone_id: &str, token: &str, urls: &[String]) -> Vec<PurgeCall> {
    urls.chunks(URLS_PER_CALL)
        .map(|chunk| PurgeCall {
            url: format!("{}/zones/{zone_id}/purge_cache", api.trim_end_matches('/')),
            authorization: format!("Bearer {token}"),
            body: serde_json::json!({ "files": chunk }).to_string(),
        })
        .collect()
}

/// After attempt `attempt` (1-based) answered `status` (`None`: no answer at all), how long
/// to wait before the next: `None` when done (success, or a refusal that will not change,
/// or no attempts left). Server errors, `429` and lost answers are tried again, 1 s, 2 s,
/// 4 s apart.
pub fn retry_after(attempt: u32, status: Option<u16>) -> Option<u64> {
    let again = match status {
        None => true,
        Some(s) => s == 429 || s >= 500,
    };
    (again && attempt < ATTEMPTS).then(|| 1000u64 << (attempt - 1).min(10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_name_at_most_thirty_urls_with_the_token() {
        let urls: Vec<String> = (0..31).map(|i| format!("https://f.example.com/uploads/{i}")).collect();
        let calls = purge_calls("https://api.cloudflare.com/client/v4/", "z1", "tok", &urls);
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].url, "https://api.cloudflare.com/client/v4/zones/z1/purge_cache");
        assert_eq!(calls[0].authorization, "Bearer tok");
        let body: serde_json::Value = serde_json::from_str(&calls[0].body).unwrap();
        assert_eq!(body["files"].as_array().unwrap().len(), 30);
        assert_eq!(body["files"][0], "https://f.example.com/uploads/0");
        let last: serde_json::Value = serde_json::from_str(&calls[1].body).unwrap();
        assert_eq!(last["files"], serde_json::json!(["https://f.example.com/uploads/30"]));
        assert!(purge_calls("a", "z", "t", &[]).is_empty());
    }

    #[test]
    fn server_errors_are_tried_again_refusals_are_not() {
        let rows: &[(u32, Option<u16>, Option<u64>)] = &[
            (1, Some(200), None),
            (1, Some(400), None),
            (1, Some(403), None),
            (1, Some(500), Some(1000)),
            (2, Some(503), Some(2000)),
            (3, Some(429), Some(4000)),
            (1, None, Some(1000)),
            (ATTEMPTS, Some(502), None),
            (ATTEMPTS, None, None),
        ];
        for (attempt, status, want) in rows {
            assert_eq!(retry_after(*attempt, *status), *want, "attempt {attempt} {status:?}");
        }
    }
}
