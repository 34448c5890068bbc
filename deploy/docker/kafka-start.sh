#!/bin/bash
# docker-compose's Kafka, secured as deploy/local/stack.sh secures the local one: SCRAM-SHA-512
# over TLS for clients, PLAIN over TLS between broker and controller, ACLs with everything
# not granted denied (grants: scripts/kafka-setup.mjs, run by the kafka-setup service).
set -euo pipefail
secret() { cat "/run/secrets/kafka-$1"; }
conf=/tmp/server.properties
jaas_scram="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"broker\" password=\"$(secret broker)\";"
cat > "$conf" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:9093
listeners=INTERNAL://:9092,HOST://:19092,CONTROLLER://localhost:9093
advertised.listeners=INTERNAL://kafka:9092,HOST://127.0.0.1:19092
controller.listener.names=CONTROLLER
inter.broker.listener.name=INTERNAL
listener.security.protocol.map=INTERNAL:SASL_SSL,HOST:SASL_SSL,CONTROLLER:SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.internal.scram-sha-512.sasl.jaas.config=$jaas_scram
listener.name.host.scram-sha-512.sasl.jaas.config=$jaas_scram
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" password="$(secret controller)" user_controller="$(secret controller)";
ssl.keystore.type=PEM
ssl.keystore.location=/tls/kafka.pem
ssl.truststore.type=PEM
ssl.truststore.location=/tls/ca.crt
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:broker;User:controller;User:admin
log.dirs=/var/lib/kafka/data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.hours=-1
PROPS
chmod 600 "$conf"
# The health check's client settings (as the admin).
cat > /tmp/admin.properties <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
ssl.truststore.type=PEM
ssl.truststore.location=/tls/ca.crt
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(secret admin)";
PROPS
chmod 600 /tmp/admin.properties
if [ ! -f /var/lib/kafka/data/meta.properties ]; then
  scram=()
  for u in broker admin ingress-postgres ingress-ssh ingress-http policy-processor projector approval-service checkpointer audit-api operator; do
    scram+=(--add-scram "SCRAM-SHA-512=[name=$u,password=$(secret "$u")]")
  done
  /opt/kafka/bin/kafka-storage.sh format -t "$(/opt/kafka/bin/kafka-storage.sh random-uuid)" -c "$conf" "${scram[@]}"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$conf"
