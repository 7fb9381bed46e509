import { runTool } from '../src/context';
import { withUsage } from '../src/getopt';
import { sysctlMain } from '../src/sysctl';

runTool('sysctl', withUsage(sysctlMain));
