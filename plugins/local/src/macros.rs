//! How each service declares its endpoints: a handler struct per endpoint holding the
//! service's state, each HTTP method one function `fn(&State, &mut Request, &mut Response)`.

/// `endpoint!(State; Name { on_get => f, on_post => g })`, optionally followed by
/// `nonblocking` (the handler touches no file or database: it may run on the host's async
/// workers) or `streams "PUT"` (that method's body arrives as a stream).
macro_rules! endpoint {
    ($state:ty; $name:ident { $($verb:ident => $func:path),* $(,)? }) => {
        endpoint!(@impl $state; $name { $($verb => $func),* } {});
    };
    ($state:ty; $name:ident { $($verb:ident => $func:path),* $(,)? } nonblocking) => {
        endpoint!(@impl $state; $name { $($verb => $func),* } {
            fn is_nonblocking(&self) -> bool {
                true
            }
        });
    };
    ($state:ty; $name:ident { $($verb:ident => $func:path),* $(,)? } streams $method:literal) => {
        endpoint!(@impl $state; $name { $($verb => $func),* } {
            fn streams_body(&self, req: &Request) -> bool {
                req.method == $method
            }
        });
    };
    (@impl $state:ty; $name:ident { $($verb:ident => $func:path),* } { $($extra:tt)* }) => {
        struct $name($state);
        #[handler]
        impl Handler for $name {
            $(fn $verb(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
                $func(&self.0, req, resp)
            })*
            $($extra)*
        }
    };
}

/// `routes!(disp, state; "nickname" => Handler, ...)`: sets each handler with its own
/// clone of the service's state, behind its rows of the service's policy table.
macro_rules! routes {
    ($disp:expr, $state:expr; $($nick:literal => $h:ident),* $(,)?) => {
        $($disp.set_handler(
            $nick,
            crate::policy::Policed::new(&$disp, $nick, $h($state.clone()))?,
        )?;)*
    };
}
