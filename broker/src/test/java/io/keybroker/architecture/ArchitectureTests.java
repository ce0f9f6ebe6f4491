package io.keybroker.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import org.jspecify.annotations.NullMarked;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The package layering that docs/architecture.md describes, checked on the compiled main classes. When a rule
 * fails, fix the dependency, not the rule: each one stands for a property that a reader of that page relies on.
 */
// One instance for all rules: importing the classes is the slow part, and the rules only read them.
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ArchitectureTests {

    private static final String ROOT = "io.keybroker";

    private final JavaClasses main = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
            .importPackages(ROOT);

    @Test
    void shouldImportTheWholeBroker() {
        // Guards every rule below against passing on an empty import (a moved root package, a wrong option).
        assertThat(main.stream().map(JavaClass::getPackageName).distinct().count()).isGreaterThan(15);
    }

    @Test
    void featurePackagesShouldFormNoCycle() {
        slices().matching(ROOT + ".(*)..").should().beFreeOfCycles().check(main);
    }

    @Test
    void dependenciesShouldPointDownTheLayers() {
        layeredArchitecture().consideringOnlyDependenciesInLayers()
                .layer("Entry").definedBy(ROOT, ROOT + ".cli..")
                .layer("Edge").definedBy(ROOT + ".api..", ROOT + ".stripe..", ROOT + ".listener..",
                        ROOT + ".inject..", ROOT + ".alert..", ROOT + ".metrics..", ROOT + ".dev..")
                .layer("Core").definedBy(ROOT + ".cache..", ROOT + ".rotation..", ROOT + ".audit..",
                        ROOT + ".policy..")
                .layer("Seam").definedBy(ROOT + ".backend..")
                .layer("Foundation").definedBy(ROOT + ".identity..", ROOT + ".secret..", ROOT + ".config..",
                        ROOT + ".yaml..")
                .whereLayer("Entry").mayNotBeAccessedByAnyLayer()
                .whereLayer("Edge").mayOnlyBeAccessedByLayers("Entry", "Edge")
                .whereLayer("Core").mayOnlyBeAccessedByLayers("Entry", "Edge", "Core")
                .whereLayer("Seam").mayOnlyBeAccessedByLayers("Entry", "Edge", "Core")
                .check(main);
    }

    @Test
    void foundationPackagesShouldStandOnTheirOwn() {
        noClasses().that().resideInAPackage(ROOT + ".secret..")
                .should().dependOnClassesThat().resideOutsideOfPackages(ROOT + ".secret..", "java..", "org..")
                .check(main);
        noClasses().that().resideInAPackage(ROOT + ".identity..")
                .should().dependOnClassesThat().resideInAnyPackage(ROOT + ".config..", ROOT + ".yaml..")
                .check(main);
        noClasses().that().resideInAPackage(ROOT + ".config..")
                .should().dependOnClassesThat().resideInAnyPackage(ROOT + ".identity..", ROOT + ".secret..",
                        ROOT + ".yaml..")
                .check(main);
        noClasses().that().resideInAPackage(ROOT + ".yaml..")
                .should().dependOnClassesThat().resideInAnyPackage(ROOT + ".identity..", ROOT + ".config..")
                .check(main);
    }

    @Test
    void onlyTheBackendSeamShouldNameABackend() {
        // Everything else (cache, API, Stripe proxy, rotation, the commands) sees SecretBackend and nothing behind
        // it, so a new backend changes no caller.
        noClasses().that().resideOutsideOfPackages(ROOT + ".backend..")
                .should().dependOnClassesThat().resideInAnyPackage(ROOT + ".backend.aws..",
                        ROOT + ".backend.file..", ROOT + ".backend.vault..")
                .check(main);
        slices().matching(ROOT + ".backend.(*)..").should().notDependOnEachOther().check(main);
    }

    @Test
    void everyPackageShouldBeNullMarked() {
        classes().that().resideInAPackage(ROOT + "..").should(beInANullMarkedPackage()).check(main);
    }

    private static ArchCondition<JavaClass> beInANullMarkedPackage() {
        return new ArchCondition<>("be in a package whose package-info.java is @NullMarked") {
            @Override
            public void check(JavaClass item, ConditionEvents events) {
                boolean marked = item.getPackage().isAnnotatedWith(NullMarked.class);
                events.add(new SimpleConditionEvent(item, marked, item.getPackageName()
                        + (marked ? " is" : " is not") + " @NullMarked (" + item.getName() + ")"));
            }
        };
    }
}
