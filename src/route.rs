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
    NgcpDownload {
        id: String,
    },
    /// tus 1.0 at `/files/`: `OPTIONS` anywhere under it.
    TusOptions,
    /// tus creation `POST /files/`.
    TusCreate,
    /// tus `HEAD /files/{id}`: offset and length.
    TusHead {
        id: String,
    },
    /// tus `PATCH /files/{id}`: append.
    TusPatch {
        id: String,
    },
    /// tus termination `DELETE /files/{id}`.
    TusDelete {
        id: String,
    },
    /// `GET /files/{id}`: the finished file.
    TusGet {
        id: String,
    },
    /// PortSIP `POST /api/blobs/uploads`: initiate.
    PortsipInitiate,
    /// PortSIP `POST /api/blobs/uploads/{id}/append`.
    PortsipAppend {
        id: String,
    },
    /// PortSIP `POST /api/blobs/uploads/{id}/complete`.
    PortsipComplete {
        id: String,
    },
    /// PortSIP `GET /api/blobs/uploads/{id}/status`.
    PortsipStatus {
        id: String,
    },
    /// PortSIP `POST /api/blobs/uploads/{id}/destroy`.
    PortsipDestroy {
        id: String,
    },
    /// PortSIP `GET /api/blobs/{digest or opaque id}`: public download.
    PortsipDownload {
        key: String,
    },
    /// A known path with a method it does not take.
    MethodNotAllowed {
        allow: &'static str,
    },
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
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match segs.as_slice() {
            ["files"] | ["files", ""] => {
                return match method {
                    Post => Route::TusCreate,
                    Options => Route::TusOptions,
                    _ => Route::MethodNotAllowed { allow: "POST, OPTIONS" },
                }
            }
            ["files", id] => {
                let id = (*id).to_string();
                return match method {
                    Head => Route::TusHead { id },
                    Patch => Route::TusPatch { id },
                    Delete => Route::TusDelete { id },
                    Get => Route::TusGet { id },
                    Options => Route::TusOptions,
                    _ => Route::MethodNotAllowed { allow: "HEAD, PATCH, DELETE, GET, OPTIONS" },
                };
            }
            ["api", "blobs", "uploads"] => {
                return match method {
                    Post => Route::PortsipInitiate,
                    _ => Route::MethodNotAllowed { allow: "POST" },
                }
            }
            ["api", "blobs", "uploads", id, op] if !id.is_empty() => {
                let id = (*id).to_string();
                return match (*op, method) {
                    ("append", Post) => Route::PortsipAppend { id },
                    ("complete", Post) => Route::PortsipComplete { id },
                    ("status", Get | Head) => Route::PortsipStatus { id },
                    ("destroy", Post) => Route::PortsipDestroy { id },
                    ("append" | "complete" | "destroy", _) => Route::MethodNotAllowed { allow: "POST" },
                    ("status", _) => Route::MethodNotAllowed { allow: "GET" },
                    _ => Route::NotFound,
                };
            }
            ["api", "blobs", key] if !key.is_empty() && *key != "uploads" => {
                return match method {
                    Get | Head => Route::PortsipDownload { key: (*key).to_string() },
                    _ => Route::MethodNotAllowed { allow: "GET, HEAD" },
                }
            }
            _ => {}
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
            // tus
            (Post, "/files/".into(), Route::TusCreate),
            (Post, "/files".into(), Route::TusCreate),
            (Options, "/files/".into(), Route::TusOptions),
            (Options, "/files/abc".into(), Route::TusOptions),
            (Head, "/files/abc".into(), Route::TusHead { id: "abc".into() }),
            (Patch, "/files/abc".into(), Route::TusPatch { id: "abc".into() }),
            (Delete, "/files/abc".into(), Route::TusDelete { id: "abc".into() }),
            (Get, "/files/abc".into(), Route::TusGet { id: "abc".into() }),
            (Put, "/files/abc".into(), Route::MethodNotAllowed { allow: "HEAD, PATCH, DELETE, GET, OPTIONS" }),
            (Get, "/files/".into(), Route::MethodNotAllowed { allow: "POST, OPTIONS" }),
            (Get, "/files/a/b".into(), Route::NotFound),
            // PortSIP blobs
            (Post, "/api/blobs/uploads".into(), Route::PortsipInitiate),
            (Post, format!("/api/blobs/uploads/{id}/append"), Route::PortsipAppend { id: id.into() }),
            (Post, format!("/api/blobs/uploads/{id}/complete"), Route::PortsipComplete { id: id.into() }),
            (Get, format!("/api/blobs/uploads/{id}/status"), Route::PortsipStatus { id: id.into() }),
            (Post, format!("/api/blobs/uploads/{id}/destroy"), Route::PortsipDestroy { id: id.into() }),
            (Get, format!("/api/blobs/uploads/{id}/append"), Route::MethodNotAllowed { allow: "POST" }),
            (Post, format!("/api/blobs/uploads/{id}/status"), Route::MethodNotAllowed { allow: "GET" }),
            (Post, format!("/api/blobs/uploads/{id}/other"), Route::NotFound),
            (Get, "/api/blobs/uploads".into(), Route::MethodNotAllowed { allow: "POST" }),
            (
                Get,
                "/api/blobs/84d89877f0d4041efb6bf91a16f0248f2fd573e6af05c19f96bedb9f882f7882".into(),
                Route::PortsipDownload {
                    key: "84d89877f0d4041efb6bf91a16f0248f2fd573e6af05c19f96bedb9f882f7882".into(),
                },
            ),
            (
                Get,
                "/api/blobs/rZTOS5yB5elnATSbfxd_pgAQQKn01i8M".into(),
                Route::PortsipDownload { key: "rZTOS5yB5elnATSbfxd_pgAQQKn01i8M".into() },
            ),
            (Post, "/api/blobs/abc".into(), Route::MethodNotAllowed { allow: "GET, HEAD" }),
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
