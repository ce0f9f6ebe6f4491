package io.keybroker.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keybroker.testsupport.BrokerFixture;
import io.keybroker.testsupport.RunningBroker;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A typo in a {@code keybroker.*} property stops start-up and names the property meant; a right one starts. */
class UnknownPropertyIntegrationTests {

    @Test
    void shouldRefuseATypoAndSuggestTheNearestProperty() {
        BrokerFixture fixture = BrokerFixture.create();
        Map<String, String> properties = fixture.properties();
        properties.put("keybroker.cache.tll", "1m");
        assertThatThrownBy(() -> RunningBroker.start(properties).close())
                .hasStackTraceContaining("unknown property keybroker.cache.tll")
                .hasStackTraceContaining("did you mean keybroker.cache.ttl?");
    }

    @Test
    void shouldStartWithTheCorrectlySpelledProperty() {
        BrokerFixture fixture = BrokerFixture.create();
        Map<String, String> properties = fixture.properties();
        properties.put("keybroker.cache.ttl", "1m");
        try (RunningBroker broker = RunningBroker.start(properties)) {
            assertThat(broker.port()).isPositive();
        }
    }

    @Test
    void shouldSuggestOnlyNamesWithinTheDistance() {
        List<String> names = List.of("environment", "application", "workloads");
        assertThat(NearestName.among("enviroment", names, 2)).contains("environment");
        assertThat(NearestName.among("Workload", names, 2)).contains("workloads");
        assertThat(NearestName.among("secrets", names, 2)).isEmpty();
        assertThat(NearestName.distance("kitten", "sitting")).isEqualTo(3);
    }
}
