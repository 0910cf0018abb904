//! Downloading an external account's avatar into a file field, as PocketBase does when
//! `oauth2.mappedFields.avatarURL` names one. The URL comes from the provider, not the user,
//! but a compromised provider must not turn the server into a probe of its own network: like
//! PocketBase, the download refuses loopback, private, link-local and multicast addresses
//! (checked on every address a name resolves to and on every redirect), unless the operator
//! allows them (`motorbase serve --oauth2-avatar-private-hosts`).

use std::error::Error as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// PocketBase gives the whole download ten seconds.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The body is cut here (PocketBase's default request body limit, 32 MiB); the file field's
/// own `maxSize` then decides, as for any upload.
pub const MAX_BYTES: usize = 32 << 20;
/// Go's default number of redirects followed.
const MAX_REDIRECTS: usize = 10;

/// Whether a download may reach `ip`: PocketBase's refusals (Go's `IsLoopback`,
/// `IsUnspecified`, `IsPrivate`, `IsLinkLocalUnicast`, `IsLinkLocalMulticast`, `IsMulticast`),
/// with IPv4-mapped IPv6 addresses judged as IPv4.
pub fn is_public(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_unspecified()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast())
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            let unique_local = first & 0xfe00 == 0xfc00;
            let link_local = first & 0xffc0 == 0xfe80;
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || unique_local
                || link_local)
        }
    }
}

/// Resolves names as the system does, keeping only public addresses.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = all.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no allowed address").into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// The host of `url` if it is an address literal.
fn literal_ip(url: &reqwest::Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

fn allowed(url: &reqwest::Url) -> Result<(), String> {
    match literal_ip(url) {
        Some(ip) if !is_public(ip) => Err(format!("address {ip} is not allowed")),
        _ => Ok(()),
    }
}

/// The file name PocketBase gives the download: the URL's last path segment (query included,
/// as Go's `path.Base` sees it); the stored name is made from it as for any upload.
pub fn file_name(url: &str) -> String {
    url.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_string()
}

/// A reqwest error with its causes (the refusal is usually a cause).
fn describe(e: reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// Downloads `url`: its name and at most [`MAX_BYTES`] of its body. Any 2xx or 3xx answer
/// counts, as in PocketBase.
pub async fn download(url: &str, allow_private: bool) -> Result<(String, Bytes), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("unsupported scheme {}", parsed.scheme()));
    }
    let mut builder = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .user_agent("motorbase")
        .no_proxy();
    if allow_private {
        builder = builder.redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS));
    } else {
        allowed(&parsed)?;
        builder =
            builder
                .dns_resolver(Arc::new(PublicOnly))
                .redirect(reqwest::redirect::Policy::custom(|attempt| {
                    if attempt.previous().len() >= MAX_REDIRECTS {
                        return attempt.error("too many redirects");
                    }
                    match allowed(attempt.url()) {
                        Ok(()) => attempt.follow(),
                        Err(e) => attempt.error(e),
                    }
                }));
    }
    let client = builder.build().map_err(describe)?;
    let mut resp = client.get(parsed).send().await.map_err(describe)?;
    let status = resp.status().as_u16();
    if !(200..=399).contains(&status) {
        return Err(format!("failed to download url {url} ({status})"));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = resp.chunk().await.map_err(describe)? {
        let room = MAX_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_BYTES {
            break;
        }
    }
    Ok((file_name(url), body.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1", "::ffff:8.8.8.8"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn literal_hosts_are_checked_before_connecting() {
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(allowed(&url("http://127.0.0.1:8080/a.png")).is_err());
        assert!(allowed(&url("http://[::1]/a.png")).is_err());
        assert!(allowed(&url("https://pics.example/a.png")).is_ok());
    }

    #[test]
    fn names_as_go_path_base() {
        assert_eq!(file_name("https://x.test/u/a.png"), "a.png");
        assert_eq!(file_name("https://x.test/u/a.png?sz=50"), "a.png?sz=50");
        assert_eq!(file_name("https://x.test/photo/"), "photo");
    }

    #[tokio::test]
    async fn loopback_downloads_are_refused_by_default() {
        let err = download("http://127.0.0.1:9/a.png", false)
            .await
            .unwrap_err();
        assert!(err.contains("not allowed"), "{err}");
        let err = download("http://localhost:9/a.png", false)
            .await
            .unwrap_err();
        assert!(err.contains("no allowed address"), "{err}");
    }
}
