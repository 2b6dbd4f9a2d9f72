import '../../../cli/localAzure/trust.js';

import { describeScaleRun } from './scaleRun.js';

describeScaleRun('resource');
