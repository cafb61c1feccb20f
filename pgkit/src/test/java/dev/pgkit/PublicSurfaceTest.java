package dev.pgkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.module.ModuleDescriptor;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Member;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The module exports only API packages, and nothing a caller can reach in them (public or protected
 * members of public types) takes, returns, extends or throws a type of {@code dev.pgkit.internal}.
 */
class PublicSurfaceTest {
    private static final String INTERNAL = "dev.pgkit.internal";

    @Test
    void testsRunWithTheModuleDescriptorInForce() {
        // so that what a consumer on the module path meets (encapsulated packages and resources) shows up here
        assertThat(Pgkit.class.getModule().isNamed()).as("pgkit runs as a named module in its tests").isTrue();
        assertThat(Pgkit.class.getModule().getName()).isEqualTo("dev.pgkit");
    }

    @Test
    void onlyApiPackagesAreExported() throws Exception {
        ModuleDescriptor descriptor = Pgkit.class.getModule().getDescriptor();
        Set<String> exported = descriptor.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet());
        assertThat(descriptor.exports()).as("no qualified exports").allMatch(e -> !e.isQualified());
        assertThat(exported).noneMatch(p -> p.startsWith(INTERNAL));
        Set<String> withPublicTypes = new TreeSet<>();
        for (Class<?> type : mainClasses()) {
            if (Modifier.isPublic(type.getModifiers()) && !type.isMemberClass()) {
                withPublicTypes.add(type.getPackageName());
            }
        }
        withPublicTypes.removeIf(p -> p.startsWith(INTERNAL));
        assertThat(exported).as("every package with public types outside " + INTERNAL + " is API and exported")
                .containsExactlyInAnyOrderElementsOf(withPublicTypes);
        assertThat(exported).contains("dev.pgkit", "dev.pgkit.json", "dev.pgkit.state");
    }

    @Test
    void noPublicMemberOfAnExportedPackageMentionsAnInternalType() throws Exception {
        Set<String> exported = Pgkit.class.getModule().getDescriptor().exports().stream()
                .map(ModuleDescriptor.Exports::source).collect(Collectors.toSet());
        List<String> leaks = new ArrayList<>();
        for (Class<?> type : mainClasses()) {
            if (exported.contains(type.getPackageName()) && reachable(type)) {
                leaks.addAll(leaks(type));
            }
        }
        assertThat(leaks).as("public API mentioning " + INTERNAL).isEmpty();
    }

    /** A public top-level type, or a public/protected member type of a reachable type. */
    private static boolean reachable(Class<?> type) {
        int modifiers = type.getModifiers();
        if (type.isAnonymousClass() || type.isLocalClass() || type.isSynthetic()) {
            return false;
        }
        if (!type.isMemberClass()) {
            return Modifier.isPublic(modifiers);
        }
        return (Modifier.isPublic(modifiers) || Modifier.isProtected(modifiers)) && reachable(type.getEnclosingClass());
    }

    private static List<String> leaks(Class<?> type) {
        List<String> found = new ArrayList<>();
        check(found, type.getName() + " extends", type.getGenericSuperclass());
        for (Type implemented : type.getGenericInterfaces()) {
            check(found, type.getName() + " implements", implemented);
        }
        for (TypeVariable<?> variable : type.getTypeParameters()) {
            check(found, type.getName() + "<" + variable.getName() + ">", variable);
        }
        for (Field field : type.getDeclaredFields()) {
            if (visible(field)) {
                check(found, type.getName() + "." + field.getName(), field.getGenericType());
            }
        }
        for (Constructor<?> constructor : type.getDeclaredConstructors()) {
            if (visible(constructor)) {
                checkExecutable(found, type.getName() + "(constructor)", constructor);
            }
        }
        for (Method method : type.getDeclaredMethods()) {
            if (visible(method) && !method.isSynthetic() && !method.isBridge()) {
                checkExecutable(found, type.getName() + "." + method.getName(), method);
                check(found, type.getName() + "." + method.getName() + " returns", method.getGenericReturnType());
            }
        }
        return found;
    }

    private static void checkExecutable(List<String> found, String where, Executable executable) {
        for (Type parameter : executable.getGenericParameterTypes()) {
            check(found, where + " takes", parameter);
        }
        for (Type thrown : executable.getGenericExceptionTypes()) {
            check(found, where + " throws", thrown);
        }
        for (TypeVariable<?> variable : executable.getTypeParameters()) {
            check(found, where + "<" + variable.getName() + ">", variable);
        }
    }

    private static boolean visible(Member member) {
        return !member.isSynthetic() && (Modifier.isPublic(member.getModifiers()) || Modifier.isProtected(member.getModifiers()));
    }

    private static void check(List<String> found, String where, Type type) {
        for (Class<?> mentioned : mentioned(type, new HashSet<>())) {
            if (mentioned.getPackageName().startsWith(INTERNAL)) {
                found.add(where + " " + mentioned.getName());
            }
        }
    }

    /** Every class a (generic) type names: itself, its type arguments, bounds, array components, owners. */
    private static Set<Class<?>> mentioned(Type type, Set<Type> seen) {
        Set<Class<?>> out = new HashSet<>();
        if (type == null || !seen.add(type)) {
            return out;
        }
        if (type instanceof Class<?> c) {
            out.add(c.isArray() ? c.getComponentType() : c);
            if (c.isArray()) {
                out.addAll(mentioned(c.getComponentType(), seen));
            }
        } else if (type instanceof ParameterizedType p) {
            out.addAll(mentioned(p.getRawType(), seen));
            out.addAll(mentioned(p.getOwnerType(), seen));
            for (Type argument : p.getActualTypeArguments()) {
                out.addAll(mentioned(argument, seen));
            }
        } else if (type instanceof WildcardType w) {
            addAll(out, w.getUpperBounds(), seen);
            addAll(out, w.getLowerBounds(), seen);
        } else if (type instanceof TypeVariable<?> v) {
            addAll(out, v.getBounds(), seen);
        } else if (type instanceof GenericArrayType a) {
            out.addAll(mentioned(a.getGenericComponentType(), seen));
        }
        return out;
    }

    private static void addAll(Collection<Class<?>> out, Type[] types, Set<Type> seen) {
        for (Type t : types) {
            out.addAll(mentioned(t, seen));
        }
    }

    /** Every class of the library's main output (not the tests'). */
    private static List<Class<?>> mainClasses() throws Exception {
        Path root = Path.of(Pgkit.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertThat(root).as("the library's classes as a directory").isDirectory();
        List<Class<?>> classes = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                String relative = root.relativize(file).toString();
                if (relative.equals("module-info.class")) {
                    continue;
                }
                String name = relative.substring(0, relative.length() - ".class".length()).replace(file.getFileSystem().getSeparator(), ".");
                classes.add(Class.forName(name, false, Pgkit.class.getClassLoader()));
            }
        }
        assertThat(classes).as("classes found under " + root).hasSizeGreaterThan(10);
        return classes;
    }
}
