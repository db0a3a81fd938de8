// npm run --silent nats:authorization > garde-nats-users.conf
// Prints the `authorization` block of a nats-server configuration: one user per Garde service, with
// the permissions of @garde/contracts `busPermissions` (DESIGN §3: only risk-service may write the kill
// switch). Passwords come from the environment, as the services' own NATS_PASSWORD (deploy/k8s).
// Include the output in the NATS server's configuration (`include garde-nats-users.conf`).
import { BUS_SERVICES, busTopology, natsAuthorization, type BusService } from '@garde/contracts';

const VARIABLES: Record<BusService, string> = {
  'risk-service': 'RISK_NATS_PASSWORD',
  'bot-service': 'BOT_NATS_PASSWORD',
  'exchange-gateway': 'GATEWAY_NATS_PASSWORD',
  'audit-service': 'AUDIT_NATS_PASSWORD',
};

const missing = BUS_SERVICES.filter((s) => !process.env[VARIABLES[s]]).map((s) => VARIABLES[s]);
if (missing.length) {
  process.stderr.write(`nats:authorization: set ${missing.join(', ')} (each service's NATS_PASSWORD)\n`);
  process.exit(2);
}
const passwords = Object.fromEntries(BUS_SERVICES.map((s) => [s, process.env[VARIABLES[s]]!])) as Record<BusService, string>;
process.stdout.write(natsAuthorization(busTopology(process.env.GARDE_NAMESPACE ?? ''), passwords));
