export { installProblemHandlers, problemSender, requireBearer, type BearerAuthentication, type SendProblem } from './edge.js';
