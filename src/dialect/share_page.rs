//! The page a browser sees at a share link: the file's name, size and the link's expiry, a
//! download button and a QR code of the link; for a link of many files, each of them with its
//! own button and "Download all" as one zip; or the password form. Plain HTML styled by the
//! static `/app.css`, under a Content-Security-Policy that allows nothing else; the one
//! script, the static `/share.js`, only where an end-to-end encrypted file may be (a page
//! with one, and the password form): it decrypts in the browser with the key in the link's
//! fragment, which never reaches the service.

use qrcode::render::svg;
use qrcode::QrCode;

use super::Reply;
use crate::engine::file::ids::{human_utc, iso8601_ms};
use crate::engine::file::record::FileRecord;
use crate::engine::ledger::link::{Link, LinkState};
use crate::error::Error;
use crate::http::disposition::visible_name;
use crate::http::html::escape;

pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
                       base-uri 'none'; frame-ancestors 'none'";
/// [`CSP`], and the one script of the page's origin (`/share.js`), which fetches the link's
/// files from the same origin and saves what it decrypted (`blob:`).
pub const CSP_E2EE: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; \
                            img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
const SCRIPT: &str = "<script src=\"/share.js\" defer></script>";

/// `1.5 MiB`, `12 bytes`.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// An SVG QR code of `text`, for inline use.
pub fn qr_svg(text: &str) -> String {
    match QrCode::new(text.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<svg::Color>()
                .min_dimensions(192, 192)
                .quiet_zone(true)
                .dark_color(svg::Color("#111111"))
                .light_color(svg::Color("#ffffff"))
                .build();
            // the XML declaration has no place inside HTML
            match svg.find("<svg") {
                Some(at) => svg[at..].replacen("<svg", "<svg role=\"img\" aria-label=\"QR code of this link\"", 1),
                None => String::new(),
            }
        }
        Err(_) => String::new(),
    }
}

fn document(status: u16, title: &str, main: &str) -> Reply {
    page_document(status, title, main, false)
}

fn page_document(status: u16, title: &str, main: &str, script: bool) -> Reply {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title} · edgeshare</title>\
         <link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">\
         <link rel=\"stylesheet\" href=\"/app.css\">{script}</head>\
         <body><main class=\"share\">{main}</main></body></html>\n",
        title = escape(title),
        script = if script { SCRIPT } else { "" },
    );
    html(status, if script { CSP_E2EE } else { CSP }, body)
}

/// A page that holds a capability (a link's, a file request's): under `csp`, never cached
/// nor indexed, and no referrer sent from it.
pub fn html(status: u16, csp: &'static str, body: String) -> Reply {
    Reply::Text {
        status,
        headers: vec![
            ("Content-Type", "text/html; charset=utf-8".into()),
            ("Content-Security-Policy", csp.into()),
            ("Cache-Control", "private, no-store".into()),
            ("X-Content-Type-Options", "nosniff".into()),
            ("Referrer-Policy", "no-referrer".into()),
            ("X-Robots-Tag", "noindex".into()),
        ],
        body,
    }
}

/// How long until `at` from `now`, in words that need no time zone: `in 23 hours`.
pub fn time_left(now: u64, at: u64) -> String {
    let minutes = at.saturating_sub(now).div_ceil(60_000);
    let (n, unit) = match minutes {
        0..=1 => return "in a minute".into(),
        2..=119 => (minutes, "minutes"),
        120..=2879 => (minutes / 60, "hours"),
        _ => (minutes / 1440, "days"),
    };
    format!("in {n} {unit}")
}

/// The page of a live link at `now`: its expiry in words (no time zone needed) and in UTC,
/// a `<time datetime>` (the page cannot know the reader's zone); its files (with their place
/// in the link), each downloadable, and all of them as one zip when there are several. With
/// `password` (the one its form just posted), each download is a form posting it again.
pub fn page(
    files: &[(usize, FileRecord)],
    link: &Link,
    origin: &str,
    token: &str,
    now: u64,
    password: Option<&str>,
) -> Reply {
    let url = format!("{origin}/s/{token}");
    let token = escape(token);
    let left = match link.max_downloads {
        Some(max) => format!("<li>{} of {max} downloads left</li>", max.saturating_sub(link.downloads)),
        None => String::new(),
    };
    let expiry = format!(
        "<li>Link expires {soon}, <time datetime=\"{exp}\">{when}</time></li>",
        soon = time_left(now, link.expires_at),
        exp = iso8601_ms(link.expires_at),
        when = human_utc(link.expires_at),
    );
    let button = |path: &str, label: &str, name: &str| match password {
        Some(p) => format!(
            "<form method=\"post\" action=\"{path}\" class=\"inline\"><input type=\"hidden\" name=\"password\" \
             value=\"{}\"><button class=\"btn\" type=\"submit\">{label}</button></form>",
            escape(p)
        ),
        None => format!("<a class=\"btn\" href=\"{path}?download=1\" download=\"{}\">{label}</a>", escape(name)),
    };
    let encrypted = files.iter().any(|(_, f)| f.extra.e2ee.is_some());
    let e2ee = if encrypted {
        format!(
            "<div id=\"e2ee\" data-token=\"{token}\" aria-live=\"polite\"><p class=\"note\">This file is end-to-end \
             encrypted: it can only be opened with the whole link, including the part after #.</p></div>"
        )
    } else {
        String::new()
    };
    let qr = format!(
        "<figure class=\"qr\">{}<figcaption>Scan to open this link on another device</figcaption></figure>",
        qr_svg(&url)
    );
    let (title, main) = match files {
        [(i, file)] => {
            let name = if file.extra.e2ee.is_some() {
                "An end-to-end encrypted file".into()
            } else {
                visible_name(&file.name).to_string()
            };
            let download = if file.extra.e2ee.is_some() {
                String::new()
            } else if *i == 0 && password.is_none() {
                format!(
                    "<p><a class=\"btn\" href=\"/s/{token}?download=1\" download=\"{n}\">Download</a></p>",
                    n = escape(&name)
                )
            } else {
                format!("<p>{}</p>", button(&format!("/s/{token}/files/{i}"), "Download", &name))
            };
            let main = format!(
                "<h1>{n}</h1><ul class=\"meta\"><li>{size}</li>{expiry}{left}</ul>{e2ee}{download}{qr}",
                n = escape(&name),
                size = human_size(file.size),
            );
            (name, main)
        }
        _ => {
            let total: u64 = files.iter().map(|(_, f)| f.size).sum();
            let rows: String = files
                .iter()
                .map(|(i, f)| {
                    let name = if f.extra.e2ee.is_some() {
                        "(encrypted file)".into()
                    } else {
                        visible_name(&f.name).to_string()
                    };
                    format!(
                        "<li data-index=\"{i}\"><span class=\"name\">{n}</span> <span class=\"size\">{size}</span> \
                         <span class=\"type\">{ty}</span> {b}</li>",
                        n = escape(&name),
                        size = human_size(f.size),
                        ty = escape(&f.content_type),
                        b = button(&format!("/s/{token}/files/{i}"), "Download", &name),
                    )
                })
                .collect();
            let title = format!("{} files", files.len());
            let main = format!(
                "<h1>{title}</h1><ul class=\"meta\"><li>{size} in all</li>{expiry}{left}</ul>{e2ee}\
                 <ul class=\"files\" aria-label=\"Files\">{rows}</ul><p>{all}</p>{qr}",
                size = human_size(total),
                all = button(&format!("/s/{token}/zip"), "Download all (zip)", "files.zip"),
            );
            (title, main)
        }
    };
    page_document(200, &title, &main, encrypted)
}

/// What a browser sees when a link cannot serve it: the password form (again), or why not.
pub fn error_page(e: &Error, token: &str) -> Reply {
    let form = |message: &str| {
        let alert = if message.is_empty() {
            String::new()
        } else {
            format!("<p class=\"error\" role=\"alert\">{}</p>", escape(message))
        };
        format!(
            "<h1>This link is protected</h1>{alert}\
             <form method=\"post\" action=\"/s/{token}\" id=\"password-form\"><label for=\"password\">Password</label>\
             <input id=\"password\" name=\"password\" type=\"password\" required autocomplete=\"off\" autofocus>\
             <button class=\"btn\" type=\"submit\">Download</button></form>",
            token = escape(token)
        )
    };
    let reply = match e {
        Error::Expired(_) if LinkState::of_refusal(e).is_some() => ended(e),
        // the form may be an encrypted file's: its script can take the password and decrypt
        Error::PasswordRequired => page_document(401, "Password required", &form(""), true),
        Error::Forbidden(m) => page_document(403, "Wrong password", &form(m), true),
        Error::TooManyRequests { .. } => page_document(429, "Too many attempts", &form(&e.message()), true),
        Error::Expired(m) | Error::NotFound(m) => {
            let title = sentence(m);
            document(
                e.status(),
                &title,
                &format!("<h1>{}</h1><p>Ask whoever sent it for a new link.</p>", escape(&title)),
            )
        }
        other => document(other.status(), "Error", &format!("<h1>{}</h1>", escape(&sentence(&other.message())))),
    };
    reply.with_headers(&e.headers())
}

/// A server message as a title: `link not found` → `Link not found`.
fn sentence(m: &str) -> String {
    let mut chars = m.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Error".into(),
    }
}

/// The page of a link that no longer serves (its `410`): what became of it, in plain words.
fn ended(e: &Error) -> Reply {
    let (title, why) = match LinkState::of_refusal(e) {
        Some(LinkState::UsedUp) => {
            ("This link has been used up", "It was good for a set number of downloads, and all of them have been made.")
        }
        Some(LinkState::Revoked) => ("This link has been revoked", "Whoever shared it has withdrawn it."),
        _ => ("This link has expired", "It was good for a limited time, and that time is over."),
    };
    document(e.status(), title, &format!("<h1>{title}</h1><p>{why} Ask whoever sent it for a new link.</p>"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::file::record::Vendor;

    #[test]
    fn names_are_escaped_and_sizes_readable() {
        assert_eq!(human_size(12), "12 bytes");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(20 << 20), "20.0 MiB");
    }

    fn a_link() -> Link {
        Link {
            tenant: "t".into(),
            file_id: "f".into(),
            list_id: "f".into(),
            r2_key: "k".into(),
            created_at: 0,
            expires_at: 86_400_000,
            max_downloads: Some(3),
            downloads: 1,
            password: None,
            has_password: false,
            revoked: false,
            notify: false,
            more: Vec::new(),
        }
    }

    #[test]
    fn pages_hold_no_script_and_a_qr_code() {
        let file = FileRecord {
            name: "<script>x</script>.txt".into(),
            size: 3,
            ..FileRecord::new("f", "t", Vendor::Tus, "k")
        };
        let link = a_link();
        let Reply::Text { body, headers, status } =
            page(&[(0, file)], &link, "https://e.example", &"T".repeat(32), 0, None)
        else {
            panic!()
        };
        assert_eq!(status, 200);
        assert!(!body.contains("<script"), "no script, and the name is escaped");
        assert!(body.contains("&lt;script&gt;") && body.contains("2 of 3 downloads left"));
        assert!(body.contains("<svg") && !body.contains("<?xml"));
        assert!(
            body.contains(
                "Link expires in 24 hours, <time datetime=\"1970-01-02T00:00:00.000Z\">2 Jan 1970, 00:00 UTC</time>"
            ),
            "{body}"
        );
        let cases =
            [(0, "in a minute"), (60_000, "in a minute"), (60_001, "in 2 minutes"), (7_140_000, "in 119 minutes")];
        for (left, words) in cases.into_iter().chain([(7_200_000, "in 2 hours"), (172_800_000, "in 2 days")]) {
            assert_eq!(time_left(1_000, 1_000 + left), words, "{left}");
        }
        assert_eq!(time_left(5_000, 1_000), "in a minute", "never in the past");
        assert!(body.contains(&format!("/s/{}?download=1", "T".repeat(32))));
        assert!(headers.iter().any(|(k, v)| *k == "Content-Security-Policy" && !v.contains("script-src")));
        let r = error_page(&Error::TooManyRequests { retry_after: 4 }, "tok");
        assert_eq!((r.status(), r.header("Retry-After")), (429, Some("4")));
        let r = error_page(&Error::PasswordRequired, "tok");
        assert!(
            matches!(&r, Reply::Text { body, .. } if body.contains("<form method=\"post\" action=\"/s/tok\" id=\"password-form\">"))
        );
    }

    /// Every refusal has a title, not a raw lowercase message, in `<title>` and `<h1>` alike.
    #[test]
    fn refusals_have_proper_titles() {
        let cases = [
            (Error::not_found("link not found"), "Link not found"),
            (Error::not_found("file no longer available"), "File no longer available"),
            (Error::Expired("file expired".into()), "File expired"),
            (Error::Expired(crate::engine::ledger::link::LINK_EXHAUSTED.into()), "This link has been used up"),
            (Error::Expired(crate::engine::ledger::link::LINK_EXPIRED.into()), "This link has expired"),
            (Error::Expired(crate::engine::ledger::link::LINK_REVOKED.into()), "This link has been revoked"),
            (Error::PasswordRequired, "Password required"),
        ];
        for (e, title) in cases {
            let Reply::Text { body, .. } = error_page(&e, "tok") else { panic!() };
            assert!(body.contains(&format!("<title>{title} · edgeshare</title>")), "{title}: {body}");
            if !matches!(e, Error::PasswordRequired) {
                assert!(body.contains(&format!("<h1>{title}</h1>")), "{title}: {body}");
            }
        }
        assert_eq!(sentence(""), "Error");
        assert_eq!(sentence("élan"), "Élan");
    }

    /// `photo<U+202E>gnp.exe` would read as `photoexe.png`: the page shows (and names the
    /// download) what the name really is, in its heading, its title and `download=`.
    #[test]
    fn names_show_no_invisible_formatting() {
        let file = FileRecord { name: "photo\u{202E}gnp.exe".into(), ..FileRecord::new("f", "t", Vendor::Tus, "k") };
        let Reply::Text { body, .. } = page(&[(0, file)], &a_link(), "https://e.example", &"T".repeat(32), 0, None)
        else {
            panic!()
        };
        assert!(!body.contains('\u{202E}'), "{body}");
        assert!(body.contains("<h1>photognp.exe</h1>") && body.contains("download=\"photognp.exe\""), "{body}");
        assert!(body.contains("<title>photognp.exe · edgeshare</title>"), "{body}");
    }
}
