package io.keybroker.listener;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class TlsNamedGroupsTests {

    @Test
    void shouldOfferTheClassicGroupsOnlyWhenTheJdkHasNoHybridGroup() {
        // Temurin 25.0.3's list.
        assertThat(TlsNamedGroups.choose(List.of("x25519", "secp256r1", "secp384r1", "secp521r1", "x448",
                "ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192")))
                .containsExactly("x25519", "secp256r1", "secp384r1");
    }

    @Test
    void shouldOfferTheHybridGroupFirstWhenTheJdkHasIt() {
        // JEP 527's default list, in its order.
        assertThat(TlsNamedGroups.choose(List.of("X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024",
                "x25519", "secp256r1", "secp384r1", "secp521r1", "x448", "ffdhe2048")))
                .containsExactly("X25519MLKEM768", "x25519", "secp256r1", "secp384r1");
    }

    @Test
    void shouldKeepTheJdkSpellingAndPreferenceOrderWhateverTheJdkOrder() {
        assertThat(TlsNamedGroups.choose(List.of("SECP384R1", "x25519mlkem768", "X25519")))
                .containsExactly("x25519mlkem768", "X25519", "SECP384R1");
    }
}
