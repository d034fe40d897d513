//! Routing is data: a pure function from (method, path) to the endpoint of one dialect.
//! Host tests assert it for every documented URL, including the ones that must be refused.

/// HTTP methods the service knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    Other,
}

impl Method {
    pub fn parse(m: &str) -> Method {
        match m.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            _ => Method::Other,
        }
    }
}

/// Every endpoint of every dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /healthz`: liveness probe.
    Health,
    /// NGCP simple upload `POST /uploads`, at the root and under `/rtc/fileshare`.
    NgcpUpload,
    /// NGCP simple download `GET|HEAD /uploads/{fileId}`.
    NgcpDownload { id: String },
    /// A known path with a method it does not take.
    MethodNotAllowed { allow: &'static str },
    NotFound,
}

/// The prefix under which NGCP's public proxy serves the daemon; the bare root works too.
const NGCP_PREFIX: &str = "/rtc/fileshare";

impl Route {
    pub fn from(method: Method, path: &str) -> Route {
        use Method::*;
        if path == "/healthz" {
            return match method {
                Get | Head => Route::Health,
                _ => Route::MethodNotAllowed { allow: "GET, HEAD" },
            };
        }
        let path = match path.strip_prefix(NGCP_PREFIX) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
            _ => path,
        };
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        match segs.as_slice() {
            ["uploads"] => match method {
                Post => Route::NgcpUpload,
                _ => Route::MethodNotAllowed { allow: "POST" },
            },
            ["uploads", id] if !id.is_empty() => match method {
                Get | Head => Route::NgcpDownload { id: (*id).to_string() },
                _ => Route::MethodNotAllowed { allow: "GET, HEAD" },
            },
            _ => Route::NotFound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Method::*;

    #[test]
    fn route_table() {
        let id = "88e5905d-5d96-4750-ab3d-77a1ed26f569";
        let dl = || Route::NgcpDownload { id: id.into() };
        let rows: Vec<(Method, String, Route)> = vec![
            (Post, "/uploads".into(), Route::NgcpUpload),
            (Post, "/uploads/".into(), Route::NgcpUpload),
            (Post, "/rtc/fileshare/uploads".into(), Route::NgcpUpload),
            (Get, format!("/uploads/{id}"), dl()),
            (Head, format!("/uploads/{id}"), dl()),
            (Get, format!("/rtc/fileshare/uploads/{id}"), dl()),
            (Get, "/uploads".into(), Route::MethodNotAllowed { allow: "POST" }),
            (Delete, format!("/uploads/{id}"), Route::MethodNotAllowed { allow: "GET, HEAD" }),
            (Post, format!("/uploads/{id}"), Route::MethodNotAllowed { allow: "GET, HEAD" }),
            (Get, format!("/uploads/{id}/extra"), Route::NotFound),
            (Post, "/rtc/fileshareX/uploads".into(), Route::NotFound),
            (Post, "/rtc/uploads".into(), Route::NotFound),
            (Get, "/".into(), Route::NotFound),
            (Get, "/nothing".into(), Route::NotFound),
            (Get, "/healthz".into(), Route::Health),
            (Post, "/healthz".into(), Route::MethodNotAllowed { allow: "GET, HEAD" }),
        ];
        for (m, path, want) in rows {
            assert_eq!(Route::from(m, &path), want, "{m:?} {path}");
        }
    }

    #[test]
    fn methods_parse() {
        assert_eq!(Method::parse("get"), Get);
        assert_eq!(Method::parse("PATCH"), Patch);
        assert_eq!(Method::parse("BREW"), Other);
    }
}
