#!/bin/bash
# First start of a pod: ordinal 0 is left to the postgres image (initdb); any other ordinal with an empty
# data directory is cloned from orders-db-0 as a streaming replica. Later role changes (promotion,
# rejoin with pg_rewind) are fleet-agent's; this runs only while the data directory is empty.
set -eu
ordinal=${POD_NAME##*-}
if [ "$ordinal" = 0 ] || [ -s "$PGDATA/PG_VERSION" ]; then
  exit 0
fi
export PGPASSWORD="$(cat /etc/fleet/postgres/password)"
until pg_isready -h orders-db-0.orders-db -p 5432 -U postgres; do sleep 2; done
pg_basebackup -h orders-db-0.orders-db -p 5432 -U postgres -D "$PGDATA" -X stream -R -C -S "${POD_NAME//-/_}" --checkpoint=fast
