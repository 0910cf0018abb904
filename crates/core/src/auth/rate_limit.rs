//! The settings-driven request limits (`rateLimits`), counted as PocketBase counts them: the
//! first rule whose label matches wins, each rule keeps a fixed window per client address.

use std::time::Duration;

use serde_json::Value as Json;

use crate::Backend;

/// One `rateLimits.rules` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub label: String,
    /// `""` (everyone), `@guest` or `@auth`.
    pub audience: String,
    pub duration: u64,
    pub max_requests: u64,
}

/// What a request looks like to the limiter.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The collection (id, name) and PocketBase's tags for collection routes
    /// (`["authWithPassword", "auth"]`, `["create"]`...).
    pub collection: Option<(&'a str, &'a str, &'a [&'a str])>,
    pub signed_in: bool,
    pub superuser: bool,
    pub ip: &'a str,
}

fn rules(settings: &Json) -> Vec<Rule> {
    settings
        .get("rateLimits")
        .and_then(|r| r.get("rules"))
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .map(|r| Rule {
                    label: r.get("label").and_then(Json::as_str).unwrap_or("").into(),
                    audience: r
                        .get("audience")
                        .and_then(Json::as_str)
                        .unwrap_or("")
                        .into(),
                    duration: r.get("duration").and_then(Json::as_u64).unwrap_or(0),
                    max_requests: r.get("maxRequests").and_then(Json::as_u64).unwrap_or(0),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The first rule for the labels, tried in order: exact labels first for each, and for the first
/// label also the path-prefix rules (labels ending in `/`).
pub fn find_rule(all: &[Rule], labels: &[String], audiences: &[&str]) -> Option<Rule> {
    let fits = |r: &Rule| audiences.contains(&r.audience.as_str());
    let prefixes: Vec<&Rule> = all.iter().filter(|r| r.label.ends_with('/')).collect();
    for label in labels {
        if let Some(r) = all.iter().find(|r| &r.label == label && fits(r)) {
            return Some(r.clone());
        }
        let with_slash = format!("{label}/");
        if let Some(r) = prefixes
            .iter()
            .find(|r| with_slash.starts_with(r.label.as_str()) && fits(r))
        {
            return Some((*r).clone());
        }
    }
    None
}

/// Whether `ip` is one of the addresses or inside one of the CIDR ranges of `list`.
pub fn ip_in_list(list: &[String], ip: &str) -> bool {
    let Ok(addr) = ip.parse::<std::net::IpAddr>() else {
        return false;
    };
    list.iter().any(|item| {
        if let Some((net, bits)) = item.split_once('/') {
            let (Ok(net), Ok(bits)) = (net.parse::<std::net::IpAddr>(), bits.parse::<u32>()) else {
                return false;
            };
            match (net, addr) {
                (std::net::IpAddr::V4(n), std::net::IpAddr::V4(a)) if bits <= 32 => {
                    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
                    u32::from(n) & mask == u32::from(a) & mask
                }
                (std::net::IpAddr::V6(n), std::net::IpAddr::V6(a)) if bits <= 128 => {
                    let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                    u128::from(n) & mask == u128::from(a) & mask
                }
                _ => false,
            }
        } else {
            item.parse::<std::net::IpAddr>().is_ok_and(|i| i == addr)
        }
    })
}

/// The `superuserIPs` setting: the only addresses superusers may work from (empty: any).
pub fn superuser_ips(settings: &Json) -> Vec<String> {
    settings
        .get("superuserIPs")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Counts the request; false when a rule says it is one too many.
pub fn allow(backend: &Backend, req: &Request) -> bool {
    let settings = backend.settings();
    let Some(conf) = settings.get("rateLimits") else {
        return true;
    };
    if conf.get("enabled").and_then(Json::as_bool) != Some(true) || req.superuser {
        return true;
    }
    let excluded: Vec<String> = conf
        .get("excludedIPs")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if req.ip.is_empty() || ip_in_list(&excluded, req.ip) {
        return true;
    }
    let audiences: [&str; 2] = if req.signed_in {
        ["", "@auth"]
    } else {
        ["", "@guest"]
    };
    let mut labels = vec![];
    let mut window = String::new();
    if let Some((id, name, tags)) = req.collection {
        labels.extend(tags.iter().map(|t| format!("{name}:{t}")));
        labels.extend(tags.iter().map(|t| format!("*:{t}")));
        window = format!("{id}{}{}", req.method, tags.concat());
    }
    labels.push(format!("{} {}", req.method, req.path));
    labels.push(req.path.to_string());
    let Some(rule) = find_rule(&rules(&settings), &labels, &audiences) else {
        return true;
    };
    if window.is_empty() {
        window = rule.label.clone();
    }
    let key = format!("rate:{window}{}:{}", rule.audience, req.ip);
    backend
        .auth
        .windows
        .allow(&key, rule.max_requests, Duration::from_secs(rule.duration))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(label: &str, audience: &str) -> Rule {
        Rule {
            label: label.into(),
            audience: audience.into(),
            duration: 1,
            max_requests: 1,
        }
    }

    #[test]
    fn first_matching_label_wins() {
        let all = vec![
            rule("*:auth", ""),
            rule("users:auth", "@guest"),
            rule("/api/", ""),
            rule("GET /api/health", ""),
        ];
        let labels = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let guest = ["", "@guest"];
        let found = find_rule(&all, &labels(&["users:auth", "*:auth"]), &guest);
        assert_eq!(found.map(|r| r.label), Some("users:auth".into()));
        let found = find_rule(&all, &labels(&["users:auth", "*:auth"]), &["", "@auth"]);
        assert_eq!(found.map(|r| r.label), Some("*:auth".into()));
        let found = find_rule(&all, &labels(&["GET /api/health", "/api/health"]), &guest);
        assert_eq!(found.map(|r| r.label), Some("GET /api/health".into()));
        let found = find_rule(&all, &labels(&["POST /api/x", "/api/x"]), &guest);
        assert_eq!(found.map(|r| r.label), Some("/api/".into()));
        assert!(find_rule(&all, &labels(&["POST /other", "/other"]), &guest).is_none());
    }

    #[test]
    fn excluded_addresses() {
        let list = vec!["10.0.0.0/8".to_string(), "::1".to_string()];
        assert!(ip_in_list(&list, "10.1.2.3"));
        assert!(ip_in_list(&list, "::1"));
        assert!(!ip_in_list(&list, "11.0.0.1"));
    }
}
