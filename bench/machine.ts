/**
 * Describes the machine a benchmark ran on, and how busy it was, so the
 * figures on the results page can be read against their hardware.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  /** One-minute load average when the benchmark started. */
  loadAverageAtStart: number;
  /** Test-runner processes of other work seen when the benchmark started. */
  otherTestRunners: number;
}

/** Reads the CPU, memory, OS and Node version, and the current load. */
export function describeMachine(): MachineInfo {
  const processors = cpus();
  return {
    cpuModel: processors[0]?.model.trim() ?? 'unknown',
    cores: processors.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${readOsName()} (${platform()} ${release()})`,
    node: process.version,
    loadAverageAtStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    otherTestRunners: countProcesses('vitest'),
  };
}

function readOsName(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    const match = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
    return match?.[1] ?? platform();
  } catch {
    return platform();
  }
}

// Counts processes whose command line contains the word; 0 when `ps` fails.
function countProcesses(word: string): number {
  try {
    const output = execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' });
    return output
      .split('\n')
      .filter((line) => line.includes(word) && !line.includes('ps -eo')).length;
  } catch {
    return 0;
  }
}
