import { runTool } from '../src/context';
import { pfctlMain } from '../src/pf/pfctl';

runTool('pfctl', pfctlMain);
