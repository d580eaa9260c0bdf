import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privateKeyToPem } from '../../src/sm2';

/**
 * Writes a node folder as FISCO's build_chain.sh lays it out: config.ini beside conf/node.pem,
 * with every section a 3.x node has, comment lines of both kinds and indentation.
 */
export function writeNodeFolder(opts: { security: string; privateKey?: Uint8Array; crlf?: boolean }): {
  dir: string;
  configPath: string;
} {
  const dir = mkdtempSync(join(tmpdir(), 'gmt0018-node-'));
  mkdirSync(join(dir, 'conf'));
  if (opts.privateKey) writeFileSync(join(dir, 'conf', 'node.pem'), privateKeyToPem(opts.privateKey));
  const text = `[p2p]
    listen_ip=0.0.0.0
    listen_port=30300
    ; ssl or sm ssl
    sm_ssl=true
    nodes_path=./
    nodes_file=nodes.json

[certificate_blacklist]
    ; crl.0 should be nodeid, nodeid's length is 512
    ;crl.0=

[rpc]
    listen_ip=0.0.0.0
    listen_port=20200
    thread_count=4
    sm_ssl=true
    disable_ssl=false

[web3_rpc]
    enable=false
    listen_ip=127.0.0.1
    listen_port=8545
    thread_count=8

[cert]
    ; directory the certificates located in
    ca_path=./conf
    ; the ca certificate file
    ca_cert=ca.crt

[chain]
    # use SM crypto or not, should nerver be changed
    sm_crypto=true
    group_id=group0
    chain_id=chain0

[security]
${opts.security
  .trim()
  .split('\n')
  .map((line) => `    ${line.trim()}`)
  .join('\n')}

[storage_security]
    ; enable data disk encryption or not, default is false
    enable=false

[consensus]
    ; min block generation time(ms)
    min_seal_time=500

[executor]
    enable_dag=true
    baseline_scheduler=false

[storage]
    data_path=data
    enable_cache=true
    key_page_size=10240

[txpool]
    limit=15000
    notify_worker_num=2
    verify_worker_num=2
    txs_expiration_time = 600

[sync]
    sync_block_by_tree=false

[redis]
    server_ip=
    server_port=

[flow_control]
    ; rate limiter configuration, disabled by default
    enable=false

[log]
    enable=true
    log_path=./log
    level=info
    max_log_file_size=1024
`;
  const configPath = join(dir, 'config.ini');
  writeFileSync(configPath, opts.crlf ? text.replace(/\n/g, '\r\n') : text);
  return { dir, configPath };
}

/** Node folders for one test file, all holding the same software key, removed together. */
export class NodeFolders {
  private readonly dirs: string[] = [];

  constructor(private readonly privateKey: Uint8Array) {}

  /** Writes a node folder with `security` as its [security] section; returns its config.ini. */
  config(security: string, crlf = false): string {
    const folder = writeNodeFolder({ security, privateKey: this.privateKey, crlf });
    this.dirs.push(folder.dir);
    return folder.configPath;
  }

  removeAll(): void {
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}
