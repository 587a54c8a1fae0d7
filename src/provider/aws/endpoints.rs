//! Where each service's calls go when `--endpoint-url` is given: to that
//! URL, unless the service has an endpoint of its own in the environment
//! (`AWS_ENDPOINT_URL_CLOUDWATCH`, `AWS_ENDPOINT_URL_SSM`…), which still
//! wins for that service. So `--endpoint-url` stands where
//! `AWS_ENDPOINT_URL` would, and the precedence stays the one the AWS SDKs
//! document ("Service-specific endpoints", AWS SDKs and Tools Reference
//! Guide: a service-specific endpoint overrides the global one;
//! `ignore_configured_endpoint_urls` ignores both, never an endpoint given
//! in code).
//!
//! Why this is needed: the SDK reads the service-specific variables only
//! when the shared config's endpoint did not come from code (each service
//! config's `From<&SdkConfig>`), and `ConfigLoader::endpoint_url` is code;
//! given as it was, `--endpoint-url` silently overrode them all. cutover
//! talks to six services under one flag, so a user pointing most of them
//! at a local endpoint and CloudWatch at another (the tests do: moto does
//! not speak CloudWatch's protocol) needs the service's variable to count.

use aws_runtime::env_config::EnvConfigValue;
use aws_types::origin::Origin;
use aws_types::os_shim_internal::Env;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use aws_types::SdkConfig;

/// The global endpoint variable; each service's is it with the service's
/// id appended (`AWS_ENDPOINT_URL_CLOUDWATCH`).
const ENDPOINT_URL_ENV: &str = "AWS_ENDPOINT_URL";

/// `loaded` with `url` as every service's endpoint but those the
/// environment gives one of their own.
pub(super) fn shared(loaded: SdkConfig, url: &str) -> SdkConfig {
    shared_with(loaded, url, Env::real())
}

fn shared_with(loaded: SdkConfig, url: &str, env: Env) -> SdkConfig {
    let mut builder = loaded.to_builder();
    builder.set_endpoint_url(Some(url.to_string()));
    // Not from code: each service config asks `service_config` first, and
    // takes `url` when it has nothing.
    builder.insert_origin("endpoint_url", Origin::unknown());
    builder.set_service_config(Some(OwnEndpoints { loaded, env }));
    builder.build()
}

/// The services' own endpoints, from the environment.
#[derive(Debug)]
struct OwnEndpoints {
    /// The configuration as aws-config loaded it: its answer honours
    /// `ignore_configured_endpoint_urls` (environment or profile).
    loaded: SdkConfig,
    env: Env,
}

impl LoadServiceConfig for OwnEndpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let loaded = self.loaded.service_config()?.load_config(key.clone());
        if key.env() != ENDPOINT_URL_ENV {
            // Only the endpoint is asked for today; anything else is
            // answered as the loaded configuration answers it.
            return loaded;
        }
        // The environment's value for this service, when it is the
        // service's own variable (a service's variable comes before the
        // global one, which `--endpoint-url` replaces).
        let (own, source) = EnvConfigValue::new()
            .env(key.env())
            .service_id(key.service_id())
            .load(&self.env, None)?;
        let origin: Origin = (&source).into();
        // The loaded configuration answers the same unless it ignores
        // configured endpoints.
        (origin == Origin::service_environment_variable() && loaded.as_deref() == Some(&*own))
            .then(|| own.into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// aws-config's own service config, as it answers without ignoring
    /// configured endpoints: the service's variable, then the global one.
    #[derive(Debug)]
    struct Loaded(Env);

    impl LoadServiceConfig for Loaded {
        fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
            EnvConfigValue::new()
                .env(key.env())
                .service_id(key.service_id())
                .load(&self.0, None)
                .map(|(v, _)| v.into_owned())
        }
    }

    /// Where CloudWatch's and EC2's calls go with `--endpoint-url
    /// http://flag` and `vars` (`ignored`: the loaded config ignores
    /// configured endpoints, as aws-config's does when told to).
    fn endpoints(vars: &[(&str, &str)], ignored: bool) -> [Option<String>; 2] {
        let env = Env::from_slice(vars);
        let mut loaded = SdkConfig::builder();
        if !ignored {
            loaded.set_service_config(Some(Loaded(env.clone())));
        }
        let conf = shared_with(loaded.build(), "http://flag", env);
        assert!(!conf.get_origin("endpoint_url").is_client_config());
        // What each service config's `From<&SdkConfig>` does when the
        // endpoint did not come from code.
        ["CloudWatch", "EC2"].map(|service| {
            let key = ServiceConfigKey::builder()
                .service_id(service)
                .env(ENDPOINT_URL_ENV)
                .profile("endpoint_url")
                .build()
                .unwrap();
            conf.service_config()
                .and_then(|c| c.load_config(key))
                .or_else(|| conf.endpoint_url().map(str::to_string))
        })
    }

    fn urls(a: &str, b: &str) -> [Option<String>; 2] {
        [Some(a.to_string()), Some(b.to_string())]
    }

    #[test]
    fn a_services_own_variable_wins_over_the_flag_for_that_service_only() {
        assert_eq!(
            endpoints(&[("AWS_ENDPOINT_URL_CLOUDWATCH", "http://cw")], false),
            urls("http://cw", "http://flag")
        );
    }

    #[test]
    fn the_flag_wins_over_the_global_variable() {
        assert_eq!(
            endpoints(&[("AWS_ENDPOINT_URL", "http://global")], false),
            urls("http://flag", "http://flag")
        );
    }

    #[test]
    fn ignoring_configured_endpoints_leaves_the_flag() {
        assert_eq!(
            endpoints(&[("AWS_ENDPOINT_URL_CLOUDWATCH", "http://cw")], true),
            urls("http://flag", "http://flag")
        );
    }
}
