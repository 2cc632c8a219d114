import { graphql } from '../gql';

// The selections both apps make. Codegen reads every file under web/src, so a
// fragment here is spread by name in either app's operations.

/**
 * What both apps show of an after-sale: its facts, every round with its evidence,
 * the ruling and the log. One fragment, not nested ones: the server's depth limit
 * (12) counts each spread as a level, and nesting took the detail query to 11.
 */
export const AfterSaleRecordFields = graphql(`
  fragment AfterSaleRecordFields on AfterSale {
    id
    number
    orderNumber
    type
    reason
    buyerClaim
    amountCents
    status
    appliedAt
    evidenceRequests {
      id
      status
      instructions
      requestedAt
      dueAt
      submission {
        id
        explanation
        submittedAt
        files {
          id
          fileName
          contentType
          byteSize
          url
        }
      }
    }
    resolution {
      outcome
      decidedBy
      decidedAt
      opinion
    }
    logs(first: 100) {
      edges {
        node {
          id
          at
          actor
          action
          summary
        }
      }
    }
  }
`);

/** A mutation's error answer: what to tell the person, and for a bad input which field. */
export const ErrorFields = graphql(`
  fragment ErrorFields on Error {
    message
    ... on InvalidInputError {
      field
    }
  }
`);

/** Only that a line was added: the open after-sale is then read again. */
export const LogAddedSubscription = graphql(`
  subscription AfterSaleLogAdded($afterSaleId: ID!) {
    afterSaleLogAdded(afterSaleId: $afterSaleId) {
      id
    }
  }
`);
