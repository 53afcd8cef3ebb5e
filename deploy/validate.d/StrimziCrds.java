// Writes CustomResourceDefinitions for Strimzi's Kafka, KafkaNodePool and KafkaTopic, with an
// openAPIV3Schema derived from Strimzi's own API model (io.strimzi:api on Maven Central), for
// deploy/validate.d/crd2schema.py. Run by deploy/validate.d/strimzi-crds:
//   java -cp <io.strimzi:api and its dependencies> StrimziCrds.java OUT_DIR
//
// Why: Strimzi publishes its CRD YAMLs only with its GitHub releases and its Helm chart, neither of
// which is reachable here; its API jar is. Strimzi's own CRD generator is not published, so this
// walks the model classes with Jackson's introspection (the same property names, types, enums and
// type discriminators the operator deserializes). What it cannot see: Strimzi's crd-generator
// annotations (not in the jar at run time) such as per-version presence, minimum/pattern and oneOf
// constraints, so the same schema serves v1beta2 and v1 and only names, types, enums and the
// discriminated unions (listeners' authentication, storage, ...) are checked.
import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.DeserializationConfig;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.introspect.AnnotatedClass;
import com.fasterxml.jackson.databind.introspect.AnnotatedClassResolver;
import com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition;
import com.fasterxml.jackson.databind.jsontype.NamedType;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.File;
import java.lang.reflect.Modifier;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

public class StrimziCrds {
    static final ObjectMapper JSON = new ObjectMapper();
    static final DeserializationConfig CFG = JSON.getDeserializationConfig();

    static Map<String, Object> m(Object... kv) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) out.put((String) kv[i], kv[i + 1]);
        return out;
    }

    static Map<String, Object> open() {
        return m("type", "object", "x-kubernetes-preserve-unknown-fields", true);
    }

    static Map<String, Object> schema(JavaType t, Deque<Class<?>> stack) throws Exception {
        Class<?> c = t.getRawClass();
        String n = c.getName();
        if (c == String.class || c == Character.class || c == char.class) return m("type", "string");
        if (c == boolean.class || c == Boolean.class) return m("type", "boolean");
        if (c == int.class || c == long.class || c == short.class || c == byte.class || c == Integer.class
                || c == Long.class || c == Short.class || c == Byte.class || c == BigInteger.class) return m("type", "integer");
        if (c == double.class || c == float.class || c == Double.class || c == Float.class || c == BigDecimal.class
                || c == Number.class) return m("type", "number");
        if (n.equals("io.fabric8.kubernetes.api.model.Quantity") || n.equals("io.fabric8.kubernetes.api.model.IntOrString"))
            return m("x-kubernetes-int-or-string", true);
        if (n.equals("io.fabric8.kubernetes.api.model.ObjectMeta")) return m("type", "object", "x-kubernetes-preserve-unknown-fields", true);
        if (c == Object.class || JsonNode.class.isAssignableFrom(c)) return m("x-kubernetes-preserve-unknown-fields", true);
        if (c.isEnum()) {
            List<Object> values = new ArrayList<>();
            for (Object e : c.getEnumConstants()) values.add(JSON.convertValue(e, Object.class));
            return m("type", "string", "enum", values);
        }
        if (t.isArrayType() || t.isCollectionLikeType()) return m("type", "array", "items", schema(t.getContentType(), stack));
        if (t.isMapLikeType()) {
            JavaType v = t.getContentType();
            if (v.getRawClass() == Object.class) return open();
            return m("type", "object", "additionalProperties", schema(v, stack));
        }
        if (n.startsWith("java.")) return m("type", "string"); // dates and the like serialize as strings
        if (stack.contains(c)) return open(); // a recursive type
        stack.push(c);
        try {
            JsonTypeInfo info = c.getAnnotation(JsonTypeInfo.class);
            AnnotatedClass ac = AnnotatedClassResolver.resolveWithoutSuperTypes(CFG, c);
            if (info != null && info.use() == JsonTypeInfo.Id.NAME) {
                // A discriminated union: one branch per subtype, its discriminator pinned.
                List<Object> branches = new ArrayList<>();
                for (NamedType sub : JSON.getSubtypeResolver().collectAndResolveSubtypesByClass(CFG, ac)) {
                    if (sub.getType() == c || Modifier.isAbstract(sub.getType().getModifiers()) || sub.getName() == null) continue;
                    Map<String, Object> b = bean(JSON.constructType(sub.getType()), stack);
                    @SuppressWarnings("unchecked") Map<String, Object> props = (Map<String, Object>) b.get("properties");
                    props.put(info.property(), m("type", "string", "enum", List.of(sub.getName())));
                    b.put("required", List.of(info.property()));
                    branches.add(b);
                }
                if (branches.isEmpty()) throw new IllegalStateException("no subtypes of " + n);
                return m("type", "object", "x-kubernetes-preserve-unknown-fields", true, "anyOf", branches);
            }
            return bean(t, stack);
        } finally {
            stack.pop();
        }
    }

    static Map<String, Object> bean(JavaType t, Deque<Class<?>> stack) throws Exception {
        BeanDescription bd = CFG.introspect(t);
        Map<String, Object> props = new TreeMap<>();
        for (BeanPropertyDefinition p : bd.findProperties()) {
            if (!p.couldDeserialize()) continue;
            props.put(p.getName(), schema(p.getPrimaryType(), stack));
        }
        return m("type", "object", "properties", props);
    }

    public static void main(String[] args) throws Exception {
        String out = args[0];
        String[][] kinds = {
            {"io.strimzi.api.kafka.model.kafka.Kafka", "Kafka", "kafkas"},
            {"io.strimzi.api.kafka.model.nodepool.KafkaNodePool", "KafkaNodePool", "kafkanodepools"},
            {"io.strimzi.api.kafka.model.topic.KafkaTopic", "KafkaTopic", "kafkatopics"},
        };
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
        for (String[] k : kinds) {
            Class<?> c = Class.forName(k[0]);
            Map<String, Object> s = bean(JSON.constructType(c), new ArrayDeque<>(List.of(c)));
            List<Object> versions = new ArrayList<>();
            for (String v : new String[] {"v1", "v1beta2"}) {
                versions.add(m("name", v, "served", true, "storage", v.equals("v1beta2"),
                        "schema", m("openAPIV3Schema", s)));
            }
            Map<String, Object> crd = m(
                "apiVersion", "apiextensions.k8s.io/v1",
                "kind", "CustomResourceDefinition",
                "metadata", m("name", k[2] + ".kafka.strimzi.io",
                        "annotations", m("todo/generated-by", "deploy/validate.d/StrimziCrds.java from " + c.getName())),
                "spec", m("group", "kafka.strimzi.io", "scope", "Namespaced",
                        "names", m("kind", k[1], "plural", k[2]), "versions", versions));
            File f = new File(out, k[2] + ".kafka.strimzi.io.yaml");
            yaml.writeValue(f, crd);
            System.out.println("wrote " + f);
        }
    }
}
