package io.keybroker.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keybroker.config.KeybrokerProperties;
import io.keybroker.config.KeybrokerProperties.MappingProperties;
import io.keybroker.secret.SecretName;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;
import tools.jackson.dataformat.yaml.YAMLMapper;

class SecretLocatorTests {

    private static KeybrokerProperties props(String env, String backend, MappingProperties... mappings) {
        return new KeybrokerProperties(env, backend, false, Path.of("x"), List.of(mappings));
    }

    @Test
    void shouldMapByDefaultToEnvironmentPrefixedPath() {
        SecretLocator locator = SecretLocator.from(props("prod", "vault"));
        SecretLocation location = locator.locate(SecretName.parse("stripe/secret-key"));
        assertThat(location.backend()).isEqualTo(new BackendLocation("vault", "prod/stripe/secret-key", null));
        assertThat(location.propertyName()).isEqualTo("stripe.secret-key");
        assertThat(SecretLocator.from(props("prod", "aws")).locate(SecretName.parse("a/b")).backend())
                .isEqualTo(new BackendLocation("aws", "prod/a/b", null));
    }

    @Test
    void shouldPreferExactNameOverLongerPrefixOverShorterPrefix() {
        SecretLocator locator = SecretLocator.from(props("staging", "file",
                new MappingProperties(null, "stripe", "vault", null, null, null),
                new MappingProperties(null, "stripe/restricted", "aws", "{environment}/payments/{rest}", null,
                        "payments.{rest}"),
                new MappingProperties("stripe/restricted/special", null, "file", "{environment}/special", null,
                        "special.key")));
        assertThat(locator.locate(SecretName.parse("stripe/secret-key")).backend())
                .isEqualTo(new BackendLocation("vault", "staging/stripe/secret-key", null));
        SecretLocation reporting = locator.locate(SecretName.parse("stripe/restricted/reporting/eu"));
        assertThat(reporting.backend()).isEqualTo(new BackendLocation("aws", "staging/payments/reporting/eu", null));
        assertThat(reporting.propertyName()).isEqualTo("payments.reporting.eu");
        assertThat(locator.locate(SecretName.parse("stripe/restricted/special")).backend().path())
                .isEqualTo("staging/special");
        assertThat(locator.locate(SecretName.parse("other/x")).backend())
                .isEqualTo(new BackendLocation("file", "staging/other/x", null));
    }

    @Test
    void shouldTurnABackendPathBackIntoTheNamesThatOwnItAndNoOthers() {
        SecretLocator locator = SecretLocator.from(props("prod", "vault",
                new MappingProperties(null, "stripe/restricted", "aws", "{environment}/payments/{rest}", null, null),
                new MappingProperties("stripe/webhook-secret", null, null, "{environment}/stripe/webhook", "secret",
                        null),
                new MappingProperties("stripe/webhook-url", null, null, "{environment}/stripe/webhook", "url", null)));

        assertThat(locator.backendsInUse()).containsExactly("aws", "vault");
        assertThat(locator.namesAt("vault", "prod/stripe/secret-key"))
                .containsExactly(SecretName.parse("stripe/secret-key"));
        assertThat(locator.namesAt("aws", "prod/payments/reporting/eu"))
                .containsExactly(SecretName.parse("stripe/restricted/reporting/eu"));
        // Two fields of one stored value are two names; the default mapping's stripe/webhook is only an alias.
        assertThat(locator.namesAt("vault", "prod/stripe/webhook")).containsExactlyInAnyOrder(
                SecretName.parse("stripe/webhook-secret"), SecretName.parse("stripe/webhook-url"));
        assertThat(locator.namesAt("vault", "staging/stripe/secret-key")).as("another environment").isEmpty();
        assertThat(locator.namesAt("aws", "prod/stripe/secret-key")).as("no aws rule produces it").isEmpty();
        assertThat(locator.namesAt("vault", "prod/Not A Name")).as("not a valid name").isEmpty();
    }

    @Test
    void shouldRefuseAPathTemplateThatLeavesTheEnvironment() {
        assertThatThrownBy(() -> SecretLocator.from(props("staging", "vault",
                new MappingProperties(null, "stripe", null, "prod/{name}", null, null))))
                .hasMessageContaining("keybroker.mappings[0].path").hasMessageContaining("{environment}/");
    }

    @Test
    void shouldListEveryConfigurationProblemWithTheProperty() {
        assertThatThrownBy(() -> SecretLocator.from(props(null, "consul",
                new MappingProperties("a", "b", null, null, null, null),
                new MappingProperties(null, "Bad/Prefix", null, null, null, null))))
                .hasMessageContaining("keybroker.environment is not set")
                .hasMessageContaining("keybroker.backend 'consul'")
                .hasMessageContaining("keybroker.mappings[0]: set exactly one")
                .hasMessageContaining("keybroker.mappings[1].prefix");
    }

    @Test
    void shouldRefuseTheDefaultNameThatReachesAFieldMappingsLocationAsTheWholeJson() {
        // The alias the first docs example made: stripe/webhooks read the whole KV entry whose one field the
        // mapping gives to stripe/webhook-secret.
        SecretLocator locator = SecretLocator.from(props("prod", "vault",
                new MappingProperties("stripe/webhook-secret", null, "vault", "{environment}/stripe/webhooks",
                        "signing_secret", null)));
        assertThat(locator.locate(SecretName.parse("stripe/webhook-secret")).backend())
                .isEqualTo(new BackendLocation("vault", "prod/stripe/webhooks", "signing_secret"));
        assertThatThrownBy(() -> locator.locate(SecretName.parse("stripe/webhooks")))
                .isInstanceOf(AliasedNameException.class)
                .satisfies(ex -> assertThat(((AliasedNameException) ex).owners())
                        .containsExactly(SecretName.parse("stripe/webhook-secret")));
        assertThat(locator.overlaps()).singleElement().satisfies(overlap -> {
            assertThat(overlap.explicit()).isFalse();
            assertThat(overlap.other()).isEqualTo(SecretName.parse("stripe/webhooks"));
            assertThat(overlap.describe()).contains("keybroker.mappings[0]", "the default mapping");
        });
    }

    @Test
    void shouldLocateANameOnceAndKeepRefusingAnAliasOnEveryRequest() {
        SecretLocator locator = SecretLocator.from(props("prod", "aws",
                new MappingProperties(null, "stripe/restricted", null, "{environment}/payments/{rest}", null, null)));
        SecretName name = SecretName.parse("stripe/restricted/reporting");
        SecretLocation first = locator.locate(name);
        // The same answer object: the path templates were not inverted again for the second request.
        assertThat(locator.locate(name)).isSameAs(first);
        for (int i = 0; i < 2; i++) {
            assertThatThrownBy(() -> locator.locate(SecretName.parse("payments/reporting")))
                    .isInstanceOf(AliasedNameException.class);
        }
        // Past the bound a name is still located correctly, only not kept.
        for (int i = 0; i < 5000; i++) {
            assertThat(locator.locate(SecretName.parse("other/k" + i)).backend().path()).isEqualTo("prod/other/k" + i);
        }
        // Turning a backend path back into names is kept the same way (the agent endpoint asks it per request).
        List<SecretName> owners = locator.namesAt("aws", "prod/payments/reporting");
        assertThat(owners).containsExactly(name);
        assertThat(locator.namesAt("aws", "prod/payments/reporting")).isSameAs(owners);
        assertThat(locator.namesAt("aws", "prod/payments")).containsExactly(SecretName.parse("stripe/restricted"));
        assertThat(locator.namesAt("aws", "staging/other")).isEmpty();
        SecretName late = SecretName.parse("other/late");
        assertThat(locator.locate(late)).isEqualTo(locator.locate(late)).isNotSameAs(locator.locate(late));
    }

    @Test
    void shouldRefuseTheDefaultNameThatReachesAPrefixMappingsLocationUnderAnotherPrefix() {
        SecretLocator locator = SecretLocator.from(props("prod", "aws",
                new MappingProperties(null, "stripe/restricted", null, "{environment}/payments/{rest}", null, null)));
        assertThat(locator.locate(SecretName.parse("stripe/restricted/reporting")).backend().path())
                .isEqualTo("prod/payments/reporting");
        assertThatThrownBy(() -> locator.locate(SecretName.parse("payments/reporting")))
                .isInstanceOf(AliasedNameException.class)
                .hasMessageContaining("stripe/restricted/reporting");
        assertThatThrownBy(() -> locator.locate(SecretName.parse("payments")))
                .isInstanceOf(AliasedNameException.class);
        assertThat(locator.locate(SecretName.parse("other/key")).backend().path()).isEqualTo("prod/other/key");
    }

    @Test
    void shouldRefuseToStartWhenTwoMappingsClaimOneLocation() {
        assertThatThrownBy(() -> SecretLocator.from(props("prod", "file",
                new MappingProperties("stripe/a", null, "vault", "{environment}/shared", null, null),
                new MappingProperties("stripe/b", null, "vault", "{environment}/shared", "key", null))))
                .hasMessageContaining("keybroker.mappings[0]").hasMessageContaining("keybroker.mappings[1]")
                .hasMessageContaining("vault:prod/shared");
        assertThatThrownBy(() -> SecretLocator.from(props("prod", "file",
                new MappingProperties(null, "a", "vault", "{environment}/x/{rest}", null, null),
                new MappingProperties(null, "b", "vault", "{environment}/x/y/{rest}", null, null))))
                .hasMessageContaining("both reach");
        assertThatThrownBy(() -> SecretLocator.from(props("prod", "file",
                new MappingProperties(null, "a", "vault", "{environment}/one", null, null))))
                .hasMessageContaining("must use {rest} or {name}");
    }

    @Test
    void shouldServeDifferentFieldsOfOneLocationUnderTheirOwnNames() {
        SecretLocator locator = SecretLocator.from(props("prod", "file",
                new MappingProperties("stripe/publishable-key", null, "vault", "{environment}/stripe/keys", "pk", null),
                new MappingProperties("stripe/secret-key", null, "vault", "{environment}/stripe/keys", "sk", null)));
        assertThat(locator.overlaps()).isEmpty();
        assertThat(locator.locate(SecretName.parse("stripe/secret-key")).backend().field()).isEqualTo("sk");
        assertThat(locator.locate(SecretName.parse("stripe/publishable-key")).backend().field()).isEqualTo("pk");
    }

    @ParameterizedTest
    @ValueSource(strings = {"file", "vault", "aws"})
    void shouldFindNoOverlapInTheDocsExampleWhateverTheDefaultBackend(String backend) throws Exception {
        String doc = Files.readString(Path.of("..", "docs", "configuration.md"));
        Matcher block = Pattern.compile("```yaml\\n(keybroker:\\n  mappings:.*?)```", Pattern.DOTALL).matcher(doc);
        assertThat(block.find()).as("the mappings example of docs/configuration.md").isTrue();
        Map<String, Object> flat = new java.util.LinkedHashMap<>();
        flatten("", new YAMLMapper().readValue(block.group(1), Object.class), flat);
        flat.put("keybroker.environment", "prod");
        flat.put("keybroker.backend", backend);
        KeybrokerProperties properties = new Binder(new MapConfigurationPropertySource(flat))
                .bind("keybroker", Bindable.of(KeybrokerProperties.class)).get();
        assertThat(properties.mappings()).hasSize(2);
        SecretLocator locator = SecretLocator.from(properties);
        assertThat(locator.overlaps()).isEmpty();
        for (String name : List.of("stripe/restricted/reporting", "stripe/webhook-secret", "stripe/secret-key")) {
            assertThat(locator.locate(SecretName.parse(name))).isNotNull();
        }
    }

    @SuppressWarnings("unchecked")
    private static void flatten(String prefix, Object node, Map<String, Object> into) {
        if (node instanceof Map<?, ?> map) {
            map.forEach((k, v) -> flatten(prefix.isEmpty() ? k.toString() : prefix + "." + k, v, into));
        } else if (node instanceof List<?> list) {
            for (int i = 0; i < list.size(); i++) {
                flatten(prefix + "[" + i + "]", list.get(i), into);
            }
        } else {
            into.put(prefix, String.valueOf(node));
        }
    }
}
