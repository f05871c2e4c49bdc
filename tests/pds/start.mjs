// A real atproto PDS (dev mode, SQLite in a temporary folder, no invite codes) and an in-memory
// PLC directory, both on 127.0.0.1, for Passerelle's tests. Run with the Node 22 installed by
// install.sh:  PASSERELLE_PDS_DIR=<folder printed by install.sh> node start.mjs
// Prints one JSON line {"ready": true, "pds_port", "plc_port", ...} on stdout, then serves until
// SIGTERM, SIGINT or the end of its standard input. Settings (environment):
//   PDS_PORT (0 or unset: a free port)    PDS_RATE_LIMITS_ENABLED=true|false (default false)
//   PDS_SERVICE_HANDLE_DOMAINS (default .pds.passerelle.dev)   any other PDS_* variable of the PDS
import fs from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { randomBytes } from 'node:crypto'
import { pathToFileURL } from 'node:url'

const modules = createRequire(path.join(process.env.PASSERELLE_PDS_DIR ?? '.', 'package.json'))
const load = (name) => import(pathToFileURL(modules.resolve(name)).href)
const [{ PDS, readEnv }, plc, { Secp256k1Keypair }] = await Promise.all(
  ['@atproto/pds', '@did-plc/server', '@atproto/crypto'].map(load),
)

const freePort = () => new Promise((resolve, reject) => {
  const probe = net.createServer().once('error', reject)
  probe.listen(0, '127.0.0.1', () => {
    const { port } = probe.address()
    probe.close(() => resolve(port))
  })
})
const hex = () => randomBytes(16).toString('hex')
// Both servers call app.listen(port), which would listen on every interface: keep them on loopback.
const onLoopback = (app) => {
  const listen = app.listen.bind(app)
  app.listen = (port, ...rest) => listen(port, '127.0.0.1', ...rest)
}

const plcServer = plc.PlcServer.create({ db: plc.Database.mock(), port: await freePort() })
onLoopback(plcServer.app)
const plcPort = (await plcServer.start()).address().port
const dataDirectory = await fs.mkdtemp(path.join(os.tmpdir(), 'passerelle-pds-'))
const rotationKey = await Secp256k1Keypair.create({ exportable: true })
const adminPassword = hex()
const defined = Object.fromEntries(Object.entries(readEnv()).filter(([, v]) => v !== undefined && !(Array.isArray(v) && !v.length)))
const env = {
  devMode: true,
  hostname: 'localhost', // the OAuth issuer is then http://localhost:<port>
  dataDirectory,
  blobstoreDiskLocation: path.join(dataDirectory, 'blobs'),
  didPlcUrl: `http://localhost:${plcPort}`,
  serviceHandleDomains: ['.pds.passerelle.dev'],
  inviteRequired: false,
  rateLimitsEnabled: false,
  adminPassword,
  jwtSecret: hex(),
  plcRotationKeyK256PrivateKeyHex: Buffer.from(await rotationKey.export()).toString('hex'),
  recoveryDidKey: (await Secp256k1Keypair.create()).did(),
  ...defined,
  port: defined.port || (await freePort()),
}
const pds = await PDS.fromEnv(env)
onLoopback(pds.app)
await pds.start()

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  await Promise.allSettled([pds.destroy(), plcServer.destroy()])
  await fs.rm(dataDirectory, { recursive: true, force: true })
  process.exit(0)
}
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, stop)
process.stdin.on('end', stop).resume()
process.stdout.write(JSON.stringify({
  ready: true, pds_port: env.port, plc_port: plcPort, admin_password: adminPassword,
  handle_domains: env.serviceHandleDomains, rate_limits: Boolean(env.rateLimitsEnabled),
}) + '\n')
