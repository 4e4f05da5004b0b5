import { HttpException } from '@nestjs/common';

/** An error answer of the history service's internal API, in the gateway's error shape (stable code, every reason). */
export const fail = (status: number, code: string, message: string): HttpException =>
  new HttpException({ statusCode: status, success: false, code, message, errors: [message] }, status);
